/** One entry of an order's `payment_events` (`payment.events`), as a jsonb array to append with `||`. */
export const paymentEvent = (type: string, detail: string | null) => JSON.stringify([{ at: new Date().toISOString(), type, detail }]);
