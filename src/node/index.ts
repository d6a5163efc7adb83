/**
 * node/: Node-only entry points: the relay and the CLI (later a headless super-peer). The package's `node` export
 * condition points here, so a Node program gets createPeer (WebRTC through node-datachannel) and startRelay.
 */
export * from '../index.js'
export { startRelay, type Relay, type RelayOptions, type RelayStats } from './relay.js'
