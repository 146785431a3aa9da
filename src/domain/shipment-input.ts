import { z } from 'zod';

/** A carrier's waybill number as shops send it. */
export const trackingNumberSchema = z.string().trim().regex(/^[A-Za-z0-9-]{4,40}$/, 'must be 4 to 40 letters, digits or dashes');
