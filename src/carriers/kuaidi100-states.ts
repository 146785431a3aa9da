import type { ShipmentStatus } from '../domain/carrier.js';

/**
 * Kuaidi100 `state` and `statusCode` values (docs/providers.md section 5) in our vocabulary (section 7).
 * Top-level codes are one or two digits; with resultv2=4/8 the sub-codes are the top-level code followed by
 * digits (101, 1001, 501 ...), so a sub-code we have not listed falls back to its parent.
 *
 * Judgement calls, written down in src/carriers/README.md:
 * - 1 (揽收) without a sub-code is `info_received`: it covers 101 已下单 and 102 待揽收 as well as 103 已揽收.
 *   Only 103 says the courier has the parcel, so only 103 is `in_transit`.
 * - 7 (转投, forwarded to another carrier) and 8/10-12 (customs) keep moving: `in_transit`. 13 is a customs
 *   exception.
 * - 302 (signed after an exception) is `delivered`: the parcel reached the recipient.
 * - A failed delivery is `failed_attempt`: 201 超时未签收 (delivered to the door, not signed), 204 派件异常,
 *   206 无法联系 (recipient unreachable). The other 疑难 sub-codes stay `exception`.
 * - 4 退签 (returned and signed for by the sender) is `returned_to_sender`; 401 已销单 (waybill cancelled) is an
 *   exception, and so are 6 退回 (on its way back: polled until it arrives) and 14 拒签 (refused).
 */
const STATES: Record<string, ShipmentStatus> = {
  '1': 'info_received',
  '101': 'info_received',
  '102': 'info_received',
  '103': 'in_transit',
  '0': 'in_transit',
  '1001': 'in_transit',
  '1002': 'in_transit',
  '1003': 'in_transit',
  '7': 'in_transit',
  '8': 'in_transit',
  '10': 'in_transit',
  '11': 'in_transit',
  '12': 'in_transit',
  '13': 'exception',
  '5': 'out_for_delivery',
  '501': 'out_for_delivery',
  '3': 'delivered',
  '301': 'delivered',
  '302': 'delivered',
  '303': 'delivered',
  '304': 'delivered',
  '2': 'exception',
  '201': 'failed_attempt',
  '204': 'failed_attempt',
  '206': 'failed_attempt',
  '4': 'returned_to_sender',
  '401': 'exception',
  '6': 'exception',
  '14': 'exception',
};

/** Names in `data[].status` when no `statusCode` comes with them (resultv2=1). */
const NAMES: Record<string, ShipmentStatus> = {
  揽收: 'info_received',
  已下单: 'info_received',
  待揽收: 'info_received',
  已揽收: 'in_transit',
  在途: 'in_transit',
  干线: 'in_transit',
  转递: 'in_transit',
  到达派件城市: 'in_transit',
  转投: 'in_transit',
  清关: 'in_transit',
  派件: 'out_for_delivery',
  投柜或驿站: 'out_for_delivery',
  签收: 'delivered',
  疑难: 'exception',
  派件异常: 'failed_attempt',
  超时未签收: 'failed_attempt',
  无法联系: 'failed_attempt',
  退签: 'returned_to_sender',
  退回: 'exception',
  拒签: 'exception',
};

export function kuaidi100State(code: string | number | null | undefined): ShipmentStatus | null {
  if (code === null || code === undefined) return null;
  const key = String(code).trim();
  if (!/^\d+$/.test(key)) return null;
  const known = STATES[key];
  if (known) return known;
  // 2xx are 疑难 sub-codes (201 超时未签收 ... 210 销单), 1004+ more 在途 sub-codes, and so on.
  if (key.length === 4 && key.startsWith('10')) return 'in_transit';
  if (key.length === 3) return STATES[key[0]!] ?? null;
  return null;
}

export function kuaidi100StatusName(name: string | null | undefined): ShipmentStatus | null {
  return (name && NAMES[name.trim()]) || null;
}
