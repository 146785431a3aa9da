/**
 * Issue 15, Postgres past one machine: every hot table is keyed by its shop, so that a distributed Postgres
 * (Citus, distributing by `shop_id`) could hold them, each order's rows on its shop's shard.
 *
 * - Each hot table's primary key leads with `shop_id`: orders, their lines, refunds, the event outbox and its
 *   delivery log and leases, shipments and their events, returns and their lines, and the products whose stock
 *   placement moves. Every unique constraint includes it (a distributed table can enforce no other).
 * - Children that had no `shop_id` get one, filled from their parent, then NOT NULL; every link between hot
 *   tables is a composite foreign key `(shop_id, x_id) -> parent(shop_id, id)`, so a child can never sit under
 *   another shop's parent (and on a distributed database, parent and child are on the same shard).
 * - Plain (not unique) indexes on `id` stay where something finds a row by id alone: a provider's notification
 *   that names only an order, a job queued before jobs carried the shop, an operator's search. On a distributed
 *   database those look in every shard, once, and what follows filters by the shop they found.
 *
 * It runs on a database that holds data: columns are added and filled first, constraints come after. The fills
 * and the new keys rewrite or rescan each hot table in this one transaction (a release on a large database
 * should expect that).
 */
export const up = `
ALTER TABLE order_items ADD COLUMN shop_id uuid;
UPDATE order_items i SET shop_id = o.shop_id FROM orders o WHERE o.id = i.order_id;
ALTER TABLE order_items ALTER COLUMN shop_id SET NOT NULL;

ALTER TABLE shipment_events ADD COLUMN shop_id uuid;
UPDATE shipment_events e SET shop_id = s.shop_id FROM shipments s WHERE s.id = e.shipment_id;
ALTER TABLE shipment_events ALTER COLUMN shop_id SET NOT NULL;

ALTER TABLE return_items ADD COLUMN shop_id uuid;
UPDATE return_items ri SET shop_id = r.shop_id FROM returns r WHERE r.id = ri.return_id;
ALTER TABLE return_items ALTER COLUMN shop_id SET NOT NULL;

-- A lease outlives no run by more than 30 s: one whose order is gone has nothing left to guard.
ALTER TABLE webhook_leases ADD COLUMN shop_id uuid;
UPDATE webhook_leases l SET shop_id = o.shop_id FROM orders o WHERE o.id = l.order_id;
DELETE FROM webhook_leases WHERE shop_id IS NULL;
ALTER TABLE webhook_leases ALTER COLUMN shop_id SET NOT NULL;

-- The links by id alone go first: the keys they hang on are replaced.
ALTER TABLE order_items DROP CONSTRAINT order_items_order_id_fkey;
ALTER TABLE order_items DROP CONSTRAINT order_items_product_id_fkey;
ALTER TABLE return_items DROP CONSTRAINT return_items_product_id_fkey;
ALTER TABLE return_items DROP CONSTRAINT return_items_return_id_fkey;
ALTER TABLE refunds DROP CONSTRAINT refunds_order_id_fkey;
ALTER TABLE order_events DROP CONSTRAINT order_events_order_id_fkey;
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_event_id_fkey;
ALTER TABLE shipments DROP CONSTRAINT shipments_order_id_fkey;
ALTER TABLE shipments DROP CONSTRAINT shipments_return_id_fkey;
ALTER TABLE shipment_events DROP CONSTRAINT shipment_events_shipment_id_fkey;
ALTER TABLE returns DROP CONSTRAINT returns_order_id_fkey;
ALTER TABLE returns DROP CONSTRAINT returns_refund_id_fkey;
ALTER TABLE payment_switches DROP CONSTRAINT payment_switches_order_id_fkey;

ALTER TABLE orders DROP CONSTRAINT orders_pkey, ADD PRIMARY KEY (shop_id, id);
ALTER TABLE products DROP CONSTRAINT products_pkey, ADD PRIMARY KEY (shop_id, id);
ALTER TABLE order_items DROP CONSTRAINT order_items_pkey, ADD PRIMARY KEY (shop_id, order_id, line_no);
ALTER TABLE refunds DROP CONSTRAINT refunds_pkey, ADD PRIMARY KEY (shop_id, id);
ALTER TABLE order_events DROP CONSTRAINT order_events_pkey, ADD PRIMARY KEY (shop_id, id);
ALTER TABLE order_events DROP CONSTRAINT order_events_seq_key, ADD UNIQUE (shop_id, seq);
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_pkey, ADD PRIMARY KEY (shop_id, id);
ALTER TABLE webhook_leases DROP CONSTRAINT webhook_leases_pkey, ADD PRIMARY KEY (shop_id, order_id);
ALTER TABLE shipments DROP CONSTRAINT shipments_pkey, ADD PRIMARY KEY (shop_id, id);
ALTER TABLE shipments DROP CONSTRAINT shipments_order_id_carrier_tracking_number_key, ADD UNIQUE (shop_id, order_id, carrier, tracking_number);
ALTER TABLE shipment_events DROP CONSTRAINT shipment_events_pkey, ADD PRIMARY KEY (shop_id, shipment_id, at, status, description);
ALTER TABLE returns DROP CONSTRAINT returns_pkey, ADD PRIMARY KEY (shop_id, id);
ALTER TABLE return_items DROP CONSTRAINT return_items_pkey, ADD PRIMARY KEY (shop_id, return_id, sku);

ALTER TABLE order_items ADD FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, id) ON DELETE CASCADE;
ALTER TABLE order_items ADD FOREIGN KEY (shop_id, product_id) REFERENCES products (shop_id, id);
ALTER TABLE refunds ADD FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, id);
ALTER TABLE order_events ADD FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, id);
ALTER TABLE webhook_deliveries ADD FOREIGN KEY (shop_id, event_id) REFERENCES order_events (shop_id, id);
ALTER TABLE returns ADD FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, id);
ALTER TABLE returns ADD FOREIGN KEY (shop_id, refund_id) REFERENCES refunds (shop_id, id);
ALTER TABLE return_items ADD FOREIGN KEY (shop_id, return_id) REFERENCES returns (shop_id, id) ON DELETE CASCADE;
ALTER TABLE return_items ADD FOREIGN KEY (shop_id, product_id) REFERENCES products (shop_id, id);
ALTER TABLE shipments ADD FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, id);
ALTER TABLE shipments ADD FOREIGN KEY (shop_id, return_id) REFERENCES returns (shop_id, id);
ALTER TABLE shipment_events ADD FOREIGN KEY (shop_id, shipment_id) REFERENCES shipments (shop_id, id) ON DELETE CASCADE;
ALTER TABLE payment_switches ADD FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, id);

-- The shop's indexes by order, now led by the shop; those the new primary keys cover are dropped.
DROP INDEX orders_by_shop;
DROP INDEX webhook_deliveries_by_shop;
DROP INDEX refunds_by_order;
CREATE INDEX refunds_by_order ON refunds (shop_id, order_id);
DROP INDEX order_events_pending;
CREATE INDEX order_events_pending ON order_events (shop_id, order_id, seq) WHERE state = 'pending';
DROP INDEX webhook_deliveries_by_event;
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (shop_id, event_id, id DESC);
DROP INDEX shipments_by_order;
CREATE INDEX shipments_by_order ON shipments (shop_id, order_id);
DROP INDEX shipments_of_return;
CREATE UNIQUE INDEX shipments_of_return ON shipments (shop_id, return_id) WHERE return_id IS NOT NULL;
DROP INDEX returns_by_order;
CREATE INDEX returns_by_order ON returns (shop_id, order_id, created_at);

-- Finding a row's shop from its id alone (see above).
CREATE INDEX orders_by_id ON orders (id);
CREATE INDEX refunds_by_id ON refunds (id);
CREATE INDEX shipments_by_id ON shipments (id);
`;
