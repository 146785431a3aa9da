/**
 * Issue 14, Kuaidi100 push renewed: a subscription Kuaidi100 ended for want of records (`abort` "3天查询无记录": the
 * parcel may just not be scanned yet) is `lapsed`, and asked again once a poll finds records, a bounded number of
 * times (`push_renewals`), once Kuaidi100's wait after the end (`push_ended_at`) has passed. Every existing row
 * keeps its state; the new columns take their defaults without rewriting the table.
 */
export const up = `
ALTER TABLE shipments ADD COLUMN push_renewals smallint NOT NULL DEFAULT 0;
ALTER TABLE shipments ADD COLUMN push_ended_at timestamptz;
ALTER TABLE shipments DROP CONSTRAINT shipments_push_status_check;
ALTER TABLE shipments ADD CONSTRAINT shipments_push_status_check CHECK (push_status IN ('subscribed', 'lapsed', 'ended', 'refused'));
`;
