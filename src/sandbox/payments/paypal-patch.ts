import { parseDecimal } from '../../payments/decimal-amount.js';
import type { SandboxTrade } from './sandbox-trade.js';

/**
 * PayPal's PATCH of an order (JSON Patch), with PayPal's rules: `add` of a property already present and
 * `replace` or `remove` of one that is not are refused (422 INVALID_PATCH_OPERATION), and the whole patch
 * applies or none of it does. The sandbox patches the fields of the purchase unit a merchant binds an order
 * with: custom_id, invoice_id, description, amount.
 */

export type PatchRefusal = { status: 400 | 422; issue: string; message: string; field?: string };
export interface PatchChange { reference?: string; requestedMinor?: number; currency?: string; details?: Record<string, string> }

const FIELD = /^\/purchase_units\/@reference_id=='([^']*)'\/(custom_id|invoice_id|description|amount)$/;
const refuse = (issue: string, message: string, field?: string, status: 400 | 422 = 422): PatchRefusal =>
  ({ status, issue, message, ...(field ? { field } : {}) });

export function applyPatch(t: SandboxTrade, ops: unknown): PatchChange | PatchRefusal {
  if (!Array.isArray(ops) || ops.length === 0) return refuse('MALFORMED_REQUEST_JSON', 'The request JSON is not well formed: send an array of patch operations.', undefined, 400);
  const present: Record<string, boolean> = {
    custom_id: t.reference !== '', invoice_id: Boolean(t.details.invoice_id), description: Boolean(t.details.description), amount: true,
  };
  const change: PatchChange = {};
  const details: Record<string, string> = {};
  for (const raw of ops as Array<Record<string, unknown>>) {
    const path = typeof raw?.path === 'string' ? raw.path : '';
    const op = raw?.op;
    const m = FIELD.exec(path);
    if (!m) return refuse('INVALID_PARAMETER_VALUE', `The sandbox cannot patch ${path || 'an empty path'}.`, path, 400);
    if (m[1] !== (t.details.reference_id ?? 'default')) return refuse('INVALID_PARAMETER_VALUE', `No purchase unit with reference_id ${m[1]}.`, path, 400);
    const field = m[2]!;
    if (op !== 'add' && op !== 'replace' && op !== 'remove') return refuse('INVALID_PARAMETER_VALUE', 'op must be add, replace or remove.', path, 400);
    if (op === 'add' && present[field]) return refuse('INVALID_PATCH_OPERATION', "Cannot add a property that's already present, use replace.", path);
    if (op !== 'add' && !present[field]) return refuse('INVALID_PATCH_OPERATION', `Cannot ${op} a property that's not present, use add.`, path);
    if (op === 'remove') {
      if (field === 'amount' || field === 'custom_id') return refuse('INVALID_PATCH_OPERATION', `The ${field} cannot be removed.`, path);
      details[field] = '';
      present[field] = false;
      continue;
    }
    const value = raw.value;
    if (field === 'amount') {
      const a = (value ?? {}) as { currency_code?: unknown; value?: unknown };
      if (typeof a.currency_code !== 'string' || !/^[A-Z]{3}$/.test(a.currency_code)) return refuse('MISSING_REQUIRED_PARAMETER', 'amount.currency_code is required.', path, 400);
      try {
        change.requestedMinor = parseDecimal(String(a.value ?? ''), a.currency_code);
      } catch {
        return refuse('INVALID_PARAMETER_VALUE', 'amount.value is not a decimal for its currency.', path, 400);
      }
      change.currency = a.currency_code;
    } else {
      if (typeof value !== 'string' || value === '' || value.length > 127) return refuse('INVALID_PARAMETER_VALUE', `${field} must be a string of 1 to 127 characters.`, path, 400);
      if (field === 'custom_id') change.reference = value;
      else details[field] = value;
    }
    present[field] = true;
  }
  return Object.keys(details).length ? { ...change, details } : change;
}
