/** `cluster-key-slot` (the slot function ioredis routes cluster commands by) ships no types. */
declare module 'cluster-key-slot' {
  /** The Redis Cluster slot of `key`: CRC16 of its hash tag, or of the whole key without one. */
  function calculateSlot(key: string): number;
  export default calculateSlot;
}
