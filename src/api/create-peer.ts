/**
 * createPeer: builds and starts a peer. Local-first: it resolves without any network, then keeps trying the bootstrap
 * relays in the background (with backoff), and reports how that goes through `peer.status`.
 */
import { InvalidOptionError, PeerClosedError, throwIfAborted } from '../errors.js'
import { MetricsRegistry } from '../metrics/index.js'
import { realRandom } from '../runtime/index.js'
import { createStorage, requestPersistence } from '../storage/index.js'
import { createSynodLibp2p, isLocalAddress } from '../transport/create-node.js'
import { loadIdentity } from '../transport/identity.js'
import { parseBootstrap, RelayConnector } from '../transport/relay-connector.js'
import { validatePeerOptions, type PeerOptions } from './options.js'
import { Peer } from './peer.js'

export async function createPeer(options: PeerOptions = {}): Promise<Peer> {
  validatePeerOptions(options)
  throwIfAborted(options.signal)
  const bootstrap = parseBootstrap(options.bootstrap ?? [])
  const allowPrivateAddresses =
    options.allowPrivateAddresses ?? bootstrap.some((a) => isLocalAddress(a))
  if (!allowPrivateAddresses) {
    const local = bootstrap.find((a) => isLocalAddress(a))
    if (local !== undefined) {
      throw new InvalidOptionError(
        `bootstrap address ${local.toString()} is local or plain ws:// but allowPrivateAddresses is false`,
      )
    }
  }
  const dialTimeoutMs = options.dialTimeoutMs ?? 5000
  const metrics = new MetricsRegistry()
  const storage = await createStorage(options.storage ?? (typeof indexedDB === 'undefined' ? 'memory' : 'indexeddb'), 'synod')
  const gate = { offline: false }
  const identity = await loadIdentity(storage)
  const node = await createSynodLibp2p({
    privateKey: identity.privateKey,
    iceServers: options.iceServers ?? [],
    allowPrivateAddresses,
    dialTimeoutMs,
    gate,
  })
  const relays = new RelayConnector(node, bootstrap, {
    initialBackoffMs: 250,
    maxBackoffMs: 30_000,
    dialTimeoutMs,
    random: realRandom,
    metrics,
  })
  const superPeer = options.superPeer ?? 'auto'
  const peer = new Peer({
    node,
    relays,
    name: options.name ?? '',
    dialTimeoutMs,
    metrics,
    storage,
    gate,
    superPeer,
    releaseIdentity: () => identity.release(),
  })
  if (storage.kind === 'indexeddb') {
    // Ask the browser not to evict our data under storage pressure; it may say no, which we report in stats only.
    requestPersistence().then(
      (granted) => metrics.counter(granted ? 'storage.persisted' : 'storage.not_persisted').inc(),
      () => metrics.counter('storage.not_persisted').inc(),
    )
  }
  if (options.signal !== undefined) {
    options.signal.addEventListener('abort', () => void peer.close(), { once: true })
    if (options.signal.aborted) {
      await peer.close()
      throw new PeerClosedError('createPeer was aborted')
    }
  }
  if (typeof globalThis.addEventListener === 'function' && typeof document !== 'undefined') {
    // A closing tab says goodbye so the others drop it at once instead of after the member timeout.
    globalThis.addEventListener('pagehide', () => peer.leaveAllNow())
  }
  relays.start()
  return peer
}
