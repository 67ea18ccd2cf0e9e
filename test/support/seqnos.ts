/**
 * Request seqnos for every client of a test process, over the network and over guest sockets alike.
 * The daemon keeps one duplicate window for all its listeners, keyed by request code, seqno and domain,
 * whoever sends it: two clients counting on their own would, once their counts meet, make copies of
 * each other's requests, and the daemon rightly drops the second one unanswered.
 */
let next = 1;

export function nextSeqno(): number {
  return next++;
}
