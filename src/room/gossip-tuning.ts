/**
 * Applies adaptive gossip parameters (membership/adaptive-gossip.ts) to a peer's gossipsub, and scores invalid
 * messages on a room's topics.
 *
 * The mesh parameters belong to the libp2p node, shared by every room the peer is in, so each room reports what it
 * wants and the node gets the most demanding answer (the largest D, Dlazy and gossip factor). gossipsub reads its
 * options at every heartbeat, so a change takes effect at the next one.
 *
 * Scoring. gossipsub counts a message our validator rejects as an invalid delivery (P4) only on topics that have
 * score parameters; without them the rejection merely stops the message. `scoreTopic` gives a room's topic parameters
 * in which invalid deliveries weigh heavily and nothing else does (a quiet room must not look like a misbehaving
 * mesh), and `penalise` adds a behaviour penalty (P7) for misbehaviour seen outside gossipsub, such as a forged
 * membership message on the SWIM protocol.
 */
import { createTopicScoreParams } from '@libp2p/gossipsub/score'
import type { GossipParameters } from '../membership/adaptive-gossip.js'
import type { SynodLibp2p } from '../transport/create-node.js'

type Mesh = Pick<GossipParameters, 'D' | 'Dlo' | 'Dhi' | 'Dlazy' | 'gossipFactor'>

/**
 * The parts of @libp2p/gossipsub's implementation this file uses. Its public interface does not expose them, but the
 * class has them as public fields (`opts`, `score`); the version is pinned in package.json, and the unit test of this
 * file runs against the real class, so a change of shape fails a test rather than going unnoticed.
 */
interface GossipInternals {
  readonly opts: { -readonly [K in keyof Mesh]: number }
  readonly score: {
    readonly params: { readonly topics: Record<string, ReturnType<typeof createTopicScoreParams>> }
    addPenalty(id: string, penalty: number, label: string): void
    score(id: string): number
  }
}

function internals(node: SynodLibp2p): GossipInternals {
  return node.services.pubsub as unknown as GossipInternals
}

const wanted = new WeakMap<SynodLibp2p, Map<string, Mesh>>()

/** Records what room `roomId` wants (null: it left) and applies the node-wide maximum. */
export function tuneMesh(node: SynodLibp2p, roomId: string, mesh: Mesh | null): void {
  let rooms = wanted.get(node)
  if (rooms === undefined) {
    rooms = new Map()
    wanted.set(node, rooms)
  }
  if (mesh === null) rooms.delete(roomId)
  else rooms.set(roomId, mesh)
  const all = [...rooms.values()]
  if (all.length === 0) return
  const opts = internals(node).opts
  const D = Math.max(...all.map((m) => m.D))
  opts.D = D
  opts.Dlo = Math.max(...all.map((m) => m.Dlo))
  opts.Dhi = Math.max(...all.map((m) => m.Dhi))
  opts.Dlazy = Math.max(...all.map((m) => m.Dlazy))
  opts.gossipFactor = Math.max(...all.map((m) => m.gossipFactor))
}

/** Invalid messages on `topic` lower the sender's score (see the file header); call when subscribing. */
export function scoreTopic(node: SynodLibp2p, topic: string): void {
  internals(node).score.params.topics[topic] = createTopicScoreParams({
    topicWeight: 1,
    timeInMeshWeight: 0,
    firstMessageDeliveriesWeight: 0,
    meshMessageDeliveriesWeight: 0,
    meshFailurePenaltyWeight: 0,
    // Squared: 3 invalid messages cost 9 × 20 = 180, below the graylist threshold (−80) at once.
    invalidMessageDeliveriesWeight: -20,
    invalidMessageDeliveriesDecay: 0.5,
  })
}

export function unscoreTopic(node: SynodLibp2p, topic: string): void {
  const topics = internals(node).score.params.topics
  if (Object.hasOwn(topics, topic)) Reflect.deleteProperty(topics, topic)
}

/** A behaviour penalty against `peer`, for misbehaviour gossipsub cannot see itself. */
export function penalise(node: SynodLibp2p, peer: string): void {
  // The label only names the penalty in gossipsub's metrics.
  internals(node).score.addPenalty(peer, 1, 'synod_invalid')
}

/** The gossipsub score of `peer` as this node sees it (0 for a peer it has no record of). */
export function scoreOf(node: SynodLibp2p, peer: string): number {
  return internals(node).score.score(peer)
}
