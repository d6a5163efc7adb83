// The suite is only worth something if it fails broken adapters. Each fault below is a mistake a real adapter could
// make; the check that guards against it must reject, and a fault-free build of the same adapter must pass them all.
import { describe, expect, it } from 'vitest'
import { InvalidOptionError, StorageError } from '../../../src/errors.js'
import { storageCompliance, type StorageAdapter, type StorageKey, type StorageOp } from '../../../src/storage/index.js'

interface Faults {
  /** Joins parts with '/', so ['a/b'] and ['a','b'] collide. */
  slashJoin?: boolean
  /** Matches prefixes by string, so ['a'] matches ['ab']. */
  stringPrefix?: boolean
  /** Stores and hands out the caller's arrays. */
  noCopies?: boolean
  /** Applies batch operations one by one, validating each as it goes. */
  partialBatch?: boolean
  /** Returns loadRange in insertion order. */
  unsorted?: boolean
}

function naiveAdapter(faults: Faults): StorageAdapter {
  let map: Map<string, Uint8Array> | undefined = new Map()
  const sep = faults.slashJoin === true ? '/' : '\u0000'
  const open = (): Map<string, Uint8Array> => map ?? (() => { throw new StorageError('closed') })()
  const check = (key: StorageKey, prefix = false): string => {
    if ((!prefix && key.length === 0) || key.some((p) => p === '' || p.includes('\u0000'))) {
      throw new InvalidOptionError('bad key')
    }
    return key.join(sep)
  }
  const matches = (k: string, p: string): boolean =>
    p === '' || k === p || k.startsWith(faults.stringPrefix === true ? p : p + sep)
  const copy = (d: Uint8Array): Uint8Array => (faults.noCopies === true ? d : d.slice())
  const apply = (m: Map<string, Uint8Array>, op: StorageOp): void => {
    if (op.type === 'save') {
      if (!(op.data instanceof Uint8Array)) throw new InvalidOptionError('bad data')
      m.set(check(op.key), copy(op.data))
    } else if (op.type === 'remove') m.delete(check(op.key))
    else {
      const p = check(op.prefix, true)
      for (const k of [...m.keys()]) if (matches(k, p)) m.delete(k)
    }
  }
  return {
    kind: 'naive',
    load: async (key) => {
      const d = open().get(check(key))
      return d === undefined ? undefined : copy(d)
    },
    save: async (key, data) => apply(open(), { type: 'save', key, data }),
    remove: async (key) => apply(open(), { type: 'remove', key }),
    removeRange: async (prefix) => apply(open(), { type: 'removeRange', prefix }),
    loadRange: async (prefix) => {
      const p = check(prefix, true)
      const found = [...open()].filter(([k]) => matches(k, p))
      if (faults.unsorted !== true) found.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      return found.map(([k, d]) => ({ key: k.split(sep), data: copy(d) }))
    },
    batch: async (ops) => {
      const m = open()
      if (faults.partialBatch === true) {
        for (const op of ops) apply(m, op)
        return
      }
      const staged = new Map(m)
      for (const op of ops) apply(staged, op)
      map = staged
    },
    close: async () => {
      map = undefined
    },
  }
}

async function failures(faults: Faults): Promise<string[]> {
  const failed: string[] = []
  for (const check of storageCompliance) {
    await check.run(async () => naiveAdapter(faults)).catch(() => failed.push(check.name))
  }
  return failed
}

const named = (fragment: string): string => {
  const check = storageCompliance.find((c) => c.name.includes(fragment))
  if (check === undefined) throw new Error(`no check named like ${fragment}`)
  return check.name
}

describe('storageCompliance', () => {
  it('passes a correct naive adapter (so the faults below are what fails)', async () => {
    expect(await failures({})).toEqual([])
  })

  it('catches keys that collide under a naive join', async () => {
    expect(await failures({ slashJoin: true })).toContain(named('unusual characters'))
  })

  it("catches ['a'] matching ['ab']", async () => {
    expect(await failures({ stringPrefix: true })).toContain(named('matches whole parts'))
  })

  it('catches stored bytes that are not copies', async () => {
    expect(await failures({ noCopies: true })).toContain(named('copies'))
  })

  it('catches a batch that applies part of itself', async () => {
    expect(await failures({ partialBatch: true })).toEqual([named('batch that fails')])
  })

  it('catches an unsorted loadRange', async () => {
    expect(await failures({ unsorted: true })).toContain(named('sorts by key'))
  })

  it('reports what went wrong in the error message', async () => {
    const check = storageCompliance.find((c) => c.name === named('matches whole parts'))
    await expect(check?.run(async () => naiveAdapter({ stringPrefix: true }))).rejects.toThrow(
      /loadRange\(\['a'\]\): expected .* got/,
    )
  })
})
