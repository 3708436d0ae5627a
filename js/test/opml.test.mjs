// SPDX-License-Identifier: Apache-2.0
//
// A dApp uses the OPML chain unmodified: plain @polkadot/api from the npm registry, no
// custom types, no type bundle, against a fresh `opml-node --dev`. It reads the
// metadata (the OPML pallets' calls with their docs, and their events), registers a
// provider (Bob), a model (Alice, from fixtures/digits_mlp.json) and submits a task
// (Charlie), decodes the events by field name and reads the task back from storage, and
// follows it through the next auction round until it is assigned to Bob.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';

import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { findUnknownExtensions } from '@polkadot/types/extrinsic/signedExtensions';
import { hexToU8a, stringToU8a, u8aConcat, u8aToHex, u8aToString } from '@polkadot/util';
import { blake2AsU8a, cryptoWaitReady, randomAsU8a } from '@polkadot/util-crypto';

import { startDevNode } from '../lib/node.mjs';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/digits_mlp.json', import.meta.url), 'utf8'));

/** The project's pallets and their indices in construct_runtime. */
const PALLETS = { Providers: 10, Market: 11, Submissions: 12, Arbitration: 13 };
/** Calls a dApp relies on (section -> methods). */
const EXPECTED_CALLS = {
  providers: ['register', 'update', 'bondExtra', 'unbond', 'withdraw'],
  market: ['registerModel', 'deregisterModel', 'submitTask', 'cancelTask', 'expire', 'commitSeed', 'revealSeed'],
  submissions: ['commit', 'reveal', 'publishOutput'],
  arbitration: ['challenge', 'oneStep', 'timeout'],
};
const EXPECTED_EVENTS = {
  providers: ['Registered'],
  market: ['ModelRegistered', 'TaskSubmitted', 'RoundStarted', 'SeedRevealed', 'RoundSeeded', 'RoundCleared', 'TaskAssigned', 'TaskSettled'],
  submissions: [],
  arbitration: [],
};

const section = (name) => name[0].toLowerCase() + name.slice(1);

/** A 16-byte domain tag of opml-primitives-core (ASCII, zero padded). */
function tag(name) {
  const t = new Uint8Array(16);
  t.set(stringToU8a(name));
  return t;
}
/** The commitment to a round-seed secret (opml_primitives_core::seed::commitment). */
const seedCommitment = (secret) => blake2AsU8a(u8aConcat(tag('opml/seed-cmt'), secret), 256);
const firstDoc = (docs) => (docs.find((d) => d.toString().trim() !== '') ?? '').toString().trim();

/** `Market.TaskSubmitted { task: 0, requester: 5F…, … }` */
function fmtEvent({ event }) {
  const { names } = event.data;
  const body = names
    ? names.map((n, i) => `${n}: ${JSON.stringify(event.data[i].toHuman())}`).join(', ')
    : event.data.map((d) => JSON.stringify(d.toHuman())).join(', ');
  return `${event.section}.${event.method} { ${body} }`;
}

/** Human text of a dispatch error: `market.BadDemand: The demand is zero…`. */
function dispatchErrorText(api, err) {
  if (err.isModule) {
    const { section: s, name, docs } = api.registry.findMetaError(err.asModule);
    return `${s}.${name}: ${docs.join(' ')}`;
  }
  return err.toString();
}

/**
 * Sign and send `tx`, wait until its block is finalized; fails on a dispatch error, an
 * invalid/dropped transaction or a timeout. Returns the block hashes and the
 * extrinsic's events.
 */
function send(api, label, tx, signer, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    let unsub = () => {};
    let last = 'not sent';
    let inBlock = null;
    const fail = (msg) => { clearTimeout(timer); unsub(); reject(new Error(`${label}: ${msg}`)); };
    const timer = setTimeout(() => fail(`not finalized within ${timeoutMs} ms (last status: ${last})`), timeoutMs);
    tx.signAndSend(signer, (result) => {
      const { status, events, dispatchError } = result;
      last = status.type;
      if (status.isInBlock) inBlock = status.asInBlock;
      if (dispatchError) return fail(`dispatch error ${dispatchErrorText(api, dispatchError)}`);
      if (status.isInvalid || status.isDropped || status.isUsurped || status.isFinalityTimeout) {
        return fail(`transaction ${status.type}`);
      }
      if (status.isFinalized) {
        clearTimeout(timer);
        unsub();
        resolve({ inBlock: inBlock ?? status.asFinalized, finalized: status.asFinalized, events, txHash: result.txHash });
      }
    }).then((u) => { unsub = u; }, (e) => fail(`could not submit: ${e.message}`));
  });
}

/** The one event of type `evType` among `events`; fails loudly otherwise. */
function theEvent(events, evType, what) {
  const found = events.filter(({ event }) => evType.is(event));
  assert.equal(found.length, 1,
    `${what}: expected exactly one ${evType.meta.name} event, got ${found.length}; events: ${events.map(fmtEvent).join('; ') || 'none'}`);
  const ev = found[0].event;
  assert.ok(ev.data.names, `${what}: ${ev.section}.${ev.method} has unnamed fields (polkadot.js cannot address them by name)`);
  return ev;
}

/** The holds on `who` as `[{ reason: 'Market.TaskEscrow', amount: bigint }]`. */
async function holds(api, who, at) {
  const q = at ? await api.at(at) : api;
  return (await q.query.balances.holds(who)).map((h) => ({
    reason: `${h.id.type}.${h.id.value.type}`,
    amount: h.amount.toBigInt(),
  }));
}

describe('OPML chain with plain @polkadot/api', { timeout: 240_000 }, () => {
  let node;
  let api;
  let alice; let bob; let charlie;
  let UNIT;
  const warnings = [];
  const consoleWarn = console.warn;
  const consoleError = console.error;
  const state = {};

  before(async () => {
    node = await startDevNode({ blockMs: 500 });
    console.log(`opml-node ${node.bin} (pid ${node.pid}) at ${node.url}, log ${node.logPath}`);
    // Anything polkadot.js complains about (unknown types, signed extensions, …).
    console.warn = (...a) => { warnings.push(a.join(' ')); consoleWarn(...a); };
    console.error = (...a) => { warnings.push(a.join(' ')); consoleError(...a); };
    const provider = new WsProvider(node.url, false);
    await provider.connect();
    api = await ApiPromise.create({ provider, throwOnConnect: true });
    await cryptoWaitReady();
    const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 });
    [alice, bob, charlie] = ['//Alice', '//Bob', '//Charlie'].map((s) => keyring.addFromUri(s));
    UNIT = 10n ** BigInt(api.registry.chainDecimals[0]);
  });

  after(async () => {
    console.warn = consoleWarn;
    console.error = consoleError;
    await api?.disconnect().catch(() => {});
    await node?.stop({ keepLog: failed });
    if (failed && node) console.log(`node log kept: ${node.logPath}`);
  });

  let failed = false;
  /** A test step; on failure the node's log tail is printed with the error. */
  const step = (name, fn) => it(name, async () => {
    try {
      await fn();
    } catch (e) {
      if (!failed && node) console.log(`--- ${name} failed; last lines of ${node.logPath}:\n${node.tail(25)}\n---`);
      failed = true;
      throw e;
    }
  });

  step('polkadot.js decorates the chain without custom types', async () => {
    const [chain, version, props] = [await api.rpc.system.chain(), api.runtimeVersion, await api.rpc.system.properties()];
    console.log(`chain ${chain}, runtime ${version.specName} v${version.specVersion}, metadata V${api.runtimeMetadata.version}, `
      + `token ${api.registry.chainTokens[0]} (${api.registry.chainDecimals[0]} decimals), ss58 ${api.registry.chainSS58}`);
    const exts = api.registry.signedExtensions;
    console.log(`transaction extensions: ${exts.join(', ')}`);
    // polkadot.js treats extensions it does not know as empty: a custom one with a
    // payload would need user extensions from every dApp (or make signatures wrong).
    const unknown = findUnknownExtensions(exts);
    assert.deepEqual(unknown, [], `transaction extensions polkadot.js does not know: ${unknown.join(', ')}`);
    const typeWarnings = warnings.filter((w) => /unknown|unable|cannot|decode|signed extension/i.test(w) && !/RPC methods not decorated/.test(w));
    assert.deepEqual(typeWarnings, [], 'polkadot.js warned while decorating the metadata');
    assert.ok(props.tokenDecimals.isSome, 'system_properties has no tokenDecimals');
  });

  step('metadata lists the OPML pallets with documented calls and events', () => {
    const meta = api.runtimeMetadata.asLatest;
    const byName = new Map(meta.pallets.map((p) => [p.name.toString(), p]));
    const problems = [];
    for (const [name, index] of Object.entries(PALLETS)) {
      const p = byName.get(name);
      assert.ok(p, `pallet ${name} missing from the metadata (pallets: ${[...byName.keys()].join(', ')})`);
      assert.equal(p.index.toNumber(), index, `pallet ${name} has index ${p.index}, expected ${index}`);
      const s = section(name);
      assert.ok(api.tx[s], `api.tx.${s} is not decorated`);
      assert.ok(api.events[s], `api.events.${s} is not decorated`);
      assert.ok(api.query[s], `api.query.${s} is not decorated`);
      const calls = Object.entries(api.tx[s]);
      const events = Object.entries(api.events[s]);
      console.log(`\n${name} (index ${index}): ${calls.length} calls, ${events.length} events, `
        + `${Object.keys(api.query[s]).length - 1} storage items, ${Object.keys(api.consts[s]).length} constants, `
        + `${Object.keys(api.errors[s]).length} errors`);
      for (const [method, fn] of calls) {
        const { args, docs, index: ci } = fn.meta;
        const sig = args.map((a) => `${a.name}: ${a.type}`).join(', ');
        console.log(`  call ${s}.${method}(${sig})  [#${ci}]\n      ${firstDoc(docs) || '(NO DOCS)'}`);
        if (!firstDoc(docs)) problems.push(`call ${s}.${method} has no docs`);
        for (const a of args) {
          try {
            api.registry.createType(a.type.toString());
          } catch (e) {
            problems.push(`call ${s}.${method}: polkadot.js cannot construct arg ${a.name}: ${a.type}: ${e.message}`);
          }
        }
      }
      for (const [evName, ev] of events) {
        const { fields, docs } = ev.meta;
        const f = fields.map((x) => {
          const td = api.registry.lookup.getTypeDef(x.type);
          return `${x.name.unwrapOr('?')}: ${td.lookupName ?? td.type}`;
        }).join(', ');
        console.log(`  event ${name}.${evName} { ${f} }\n      ${firstDoc(docs) || '(NO DOCS)'}`);
        if (!firstDoc(docs)) problems.push(`event ${name}.${evName} has no docs`);
        if (fields.some((x) => x.name.isNone)) problems.push(`event ${name}.${evName} has unnamed fields`);
        for (const x of fields) {
          try {
            api.registry.createType(api.registry.createLookupType(x.type));
          } catch (e) {
            problems.push(`event ${name}.${evName}: polkadot.js cannot construct field ${x.name}: ${e.message}`);
          }
        }
      }
      // Storage items, constants and errors: documented too (polkadot.js Apps shows them).
      for (const [k, q] of Object.entries(api.query[s])) {
        if (k !== 'palletVersion' && !firstDoc(q.creator.meta.docs)) problems.push(`storage ${s}.${k} has no docs`);
      }
      for (const [k, c] of Object.entries(api.consts[s])) {
        if (!firstDoc(c.meta.docs)) problems.push(`constant ${s}.${k} has no docs`);
      }
      for (const [k, e] of Object.entries(api.errors[s])) {
        if (!firstDoc(e.meta.docs)) problems.push(`error ${s}.${k} has no docs`);
      }
      for (const m of EXPECTED_CALLS[s]) {
        if (!api.tx[s][m]) problems.push(`expected call ${s}.${m} is missing`);
      }
      for (const m of EXPECTED_EVENTS[s]) {
        if (!api.events[s][m]) problems.push(`expected event ${name}.${m} is missing`);
      }
    }
    // The exact argument lists this test (and any dApp) is written against.
    const argsOf = (fn) => fn.meta.args.map((a) => `${a.name}: ${a.type}`).join(', ');
    assert.equal(argsOf(api.tx.providers.register),
      'bond: u128, capacity: Vec<PalletOpmlProvidersCapacity>, unitCost: u128, power: u32');
    assert.equal(argsOf(api.tx.market.registerModel),
      'commitment: H256, programRoot: H256, weight: u32, metadata: Bytes, graph: Bytes, graphSiblings: Vec<H256>');
    assert.equal(argsOf(api.tx.market.submitTask),
      'model: u32, input: PalletOpmlMarketTaskInput, demand: u32, valuation: u128, redundancy: u8, deadline: u32');
    assert.deepEqual(problems, [], `metadata problems:\n  ${problems.join('\n  ')}`);
  });

  step('Bob registers as a provider (providers.register)', async () => {
    const minBond = api.consts.providers.minBond.toBigInt();
    state.model = (await api.query.market.nextModelId()).toNumber(); // the id the model will get
    const capacity = [{ taskType: state.model, units: 100 }];
    const tx = api.tx.providers.register(minBond, capacity, UNIT, 10);
    const { events, finalized } = await send(api, 'providers.register', tx, bob);
    console.log(`providers.register finalized in ${finalized.toHex()}:\n  ${events.map(fmtEvent).join('\n  ')}`);
    const ev = theEvent(events, api.events.providers.Registered, 'providers.register');
    assert.equal(ev.data.who.toString(), bob.address, 'Registered.who is not Bob');
    assert.equal(ev.data.bond.toBigInt(), minBond, 'Registered.bond is not the bond sent');
    assert.ok(events.some(({ event }) => api.events.system.ExtrinsicSuccess.is(event)), 'no System.ExtrinsicSuccess');

    const info = (await api.query.providers.providers(bob.address)).unwrap();
    console.log(`providers.providers(Bob) = ${JSON.stringify(info.toHuman())}`);
    assert.equal(info.status.type, 'Active');
    assert.equal(info.bond.toBigInt(), minBond);
    assert.deepEqual(info.capacity.map((c) => [c.taskType.toNumber(), c.units.toNumber()]), [[state.model, 100]]);
    assert.equal(info.unitCost.toBigInt(), UNIT);
    assert.equal(info.power.toNumber(), 10);
    assert.ok((await api.query.providers.providerList()).some((a) => a.toString() === bob.address), 'Bob not in ProviderList');
    assert.deepEqual(await holds(api, bob.address), [{ reason: 'Providers.ProviderBond', amount: minBond }]);
  });

  step('Bob commits to a round seed (market.commitSeed)', async () => {
    // a round takes only the asks of providers committed to a seed secret, and each
    // reveals it after the round's snapshot (docs/security.md H2)
    state.secrets = [randomAsU8a(32), randomAsU8a(32)];
    const tx = api.tx.market.commitSeed(seedCommitment(state.secrets[0]), 0);
    const { events } = await send(api, 'market.commitSeed', tx, bob);
    const ev = theEvent(events, api.events.market.SeedCommitted, 'market.commitSeed');
    assert.equal(ev.data.who.toString(), bob.address);
    const held = (await api.query.market.seedCommits(bob.address)).unwrap();
    assert.equal(u8aToHex(held.commitment), u8aToHex(seedCommitment(state.secrets[0])));
  });

  step('Alice registers the digits MLP (market.registerModel)', async () => {
    assert.ok(state.model !== undefined, 'no model id: an earlier step failed');
    const { commitment, programRoot, weight, metadata, graph, graphSiblings } = fixture.model;
    // Bytes arguments as strings (text or 0x-hex): polkadot.js reads a bare Uint8Array
    // as already SCALE-encoded (with its length prefix). The graph is checked against
    // the commitment on chain (docs/security.md M10).
    const tx = api.tx.market.registerModel(commitment, programRoot, weight, metadata, graph, graphSiblings);
    const { events, finalized } = await send(api, 'market.registerModel', tx, alice);
    console.log(`market.registerModel finalized in ${finalized.toHex()}:\n  ${events.map(fmtEvent).join('\n  ')}`);
    const ev = theEvent(events, api.events.market.ModelRegistered, 'market.registerModel');
    assert.equal(ev.data.model.toNumber(), state.model, 'ModelRegistered.model is not NextModelId');
    assert.equal(ev.data.owner.toString(), alice.address);
    assert.equal(ev.data.commitment.toHex(), commitment);
    assert.equal(ev.data.programRoot.toHex(), programRoot);

    const m = (await api.query.market.models(state.model)).unwrap();
    console.log(`market.models(${state.model}) = ${JSON.stringify(m.toHuman())}`);
    assert.equal(m.owner.toString(), alice.address);
    assert.equal(m.commitment.toHex(), commitment);
    assert.equal(m.programRoot.toHex(), programRoot);
    assert.equal(m.weight.toNumber(), weight);
    assert.equal(u8aToString(m.metadata), metadata);
    const deposit = api.consts.market.modelDeposit.toBigInt();
    assert.equal(m.deposit.toBigInt(), deposit);
    assert.deepEqual(await holds(api, alice.address), [{ reason: 'Market.ModelDeposit', amount: deposit }]);
    assert.equal((await api.query.market.nextModelId()).toNumber(), state.model + 1);
  });

  step('Charlie submits a task (market.submitTask) and reads it back', async () => {
    assert.ok(state.model !== undefined, 'no model id: an earlier step failed');
    const input = hexToU8a(fixture.input.inline);
    const maxInline = api.consts.market.maxInlineInput.toNumber();
    assert.ok(input.length <= maxInline, `fixture input (${input.length} B) exceeds MaxInlineInput ${maxInline}`);
    const deadline = 20;
    const valuation = 10n * UNIT;
    const req = { model: state.model, input: { Inline: fixture.input.inline }, demand: 1, valuation, redundancy: 1, deadline };
    const tx = api.tx.market.submitTask(req.model, req.input, req.demand, req.valuation, req.redundancy, req.deadline);
    // Fee estimation (TransactionPaymentApi) works as for any chain.
    const { partialFee, weight } = await tx.paymentInfo(charlie);
    console.log(`market.submitTask estimated fee ${partialFee.toHuman()}, weight ${JSON.stringify(weight.toHuman())}`);
    assert.ok(partialFee.toBigInt() > 0n, 'paymentInfo gave a zero fee');
    const free0 = (await api.query.system.account(charlie.address)).data.free.toBigInt();
    const { events, inBlock, finalized, txHash } = await send(api, 'market.submitTask', tx, charlie);
    const n = (await api.rpc.chain.getHeader(inBlock)).number.toNumber();
    console.log(`market.submitTask ${txHash.toHex()} in block #${n} ${inBlock.toHex()} (finalized ${finalized.toHex()}):\n  `
      + events.map(fmtEvent).join('\n  '));
    const ev = theEvent(events, api.events.market.TaskSubmitted, 'market.submitTask');
    state.task = ev.data.task.toBigInt();
    state.submittedAt = n;
    assert.equal(ev.data.requester.toString(), charlie.address);
    assert.equal(ev.data.model.toNumber(), state.model);
    assert.equal(ev.data.valuation.toBigInt(), valuation);
    const fee = theEvent(events, api.events.transactionPayment.TransactionFeePaid, 'market.submitTask');
    assert.equal(fee.data.who.toString(), charlie.address);
    assert.ok(events.some(({ event }) => api.events.system.ExtrinsicSuccess.is(event)), 'no System.ExtrinsicSuccess');

    // The task as stored in the block that included it (it is still open there).
    const at = await api.at(inBlock);
    const task = (await at.query.market.tasks(state.task)).unwrap();
    console.log(`market.tasks(${state.task}) at #${n} = ${JSON.stringify(task.toHuman())}`);
    assert.equal(task.requester.toString(), charlie.address);
    assert.equal(task.model.toNumber(), state.model);
    assert.equal(task.commitment.toHex(), fixture.model.commitment);
    assert.equal(task.programRoot.toHex(), fixture.model.programRoot);
    assert.ok(task.input.isInline, `input is ${task.input.type}, expected Inline`);
    assert.equal(u8aToHex(task.input.asInline), fixture.input.inline);
    assert.equal(task.demand.toNumber(), 1);
    assert.equal(task.valuation.toBigInt(), valuation);
    assert.equal(task.redundancy.toNumber(), 1);
    assert.equal(task.deadline.toNumber(), deadline);
    assert.equal(task.priority.toNumber(), 0);
    assert.equal(task.status.type, 'Open');
    assert.ok((await at.query.market.openTasks(state.task)).isSome, 'task not in OpenTasks');
    // the escrow, and the book deposit that comes back when the task is assigned
    const bookDeposit = api.consts.market.bookDeposit.toBigInt();
    assert.deepEqual(await holds(api, charlie.address, inBlock), [
      { reason: 'Market.TaskEscrow', amount: valuation },
      { reason: 'Market.BookDeposit', amount: bookDeposit },
    ]);
    const free1 = (await at.query.system.account(charlie.address)).data.free.toBigInt();
    assert.equal(free0 - free1, valuation + bookDeposit + fee.data.actualFee.toBigInt(), 'free balance did not drop by escrow + book deposit + fee');
  });

  step('the next auction round assigns the task to Bob (Market.TaskAssigned)', async () => {
    assert.ok(state.task !== undefined, 'no task: the submission step failed');
    // Walk the finalized blocks after the submission until the task is assigned; when
    // the round starts, Bob reveals his seed secret (and commits to the next).
    const seen = [];
    let assigned = null;
    let revealed = false;
    for (let n = state.submittedAt + 1; !assigned; n++) {
      assert.ok(n <= state.submittedAt + 40, `task ${state.task} not assigned within 40 blocks; events: ${seen.join('; ')}`);
      while ((await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead())).number.toNumber() < n) {
        await new Promise((r) => setTimeout(r, 200));
      }
      const hash = await api.rpc.chain.getBlockHash(n);
      const records = await (await api.at(hash)).query.system.events();
      for (const r of records) {
        const { event } = r;
        if (event.section === 'market' || event.section === 'providers' || event.section === 'submissions' || event.section === 'arbitration') {
          seen.push(`#${n} ${fmtEvent(r)}`);
          console.log(`  #${n} ${fmtEvent(r)}`);
        }
        if (api.events.market.TaskAssigned.is(event) && event.data.task.toBigInt() === state.task) {
          assigned = { n, hash, event };
        }
        if (api.events.market.RoundStarted.is(event) && !revealed) {
          const tx = api.tx.market.revealSeed(event.data.round, state.secrets[0], seedCommitment(state.secrets[1]));
          const { events } = await send(api, 'market.revealSeed', tx, bob);
          theEvent(events, api.events.market.SeedRevealed, 'market.revealSeed');
          revealed = true;
        }
      }
    }
    assert.ok(revealed, 'the task was assigned without a seed reveal');
    const { data } = assigned.event;
    assert.equal(data.providers.length, 1, 'expected one provider (redundancy 1)');
    const [who, payment] = data.providers[0];
    assert.equal(who.toString(), bob.address, 'the task went to someone else than Bob');
    assert.ok(payment.toBigInt() > 0n && payment.toBigInt() <= 10n * UNIT, `payment ${payment} out of range`);
    assert.equal(data.price.toBigInt(), payment.toBigInt(), 'price != the one payment');
    assert.equal(data.due.toNumber(), assigned.n + 20, 'due is not assignment block + deadline');

    const task = (await (await api.at(assigned.hash)).query.market.tasks(state.task)).unwrap();
    console.log(`market.tasks(${state.task}) at #${assigned.n} = ${JSON.stringify(task.toHuman())}`);
    assert.ok(task.status.isAssigned, `status is ${task.status.type}, expected Assigned`);
    const a = task.status.asAssigned;
    assert.equal(a.due.toNumber(), data.due.toNumber());
    assert.equal(a.price.toBigInt(), data.price.toBigInt());
    assert.deepEqual(a.providers.map(([p, x]) => [p.toString(), x.toBigInt()]), [[bob.address, payment.toBigInt()]]);
  });

  step('every storage item and constant of the OPML pallets decodes', async () => {
    let items = 0; let entries = 0;
    for (const name of Object.keys(PALLETS)) {
      const s = section(name);
      for (const [c, v] of Object.entries(api.consts[s])) {
        assert.doesNotThrow(() => v.toHuman(), `constant ${s}.${c}`);
      }
      for (const [item, q] of Object.entries(api.query[s])) {
        if (item === 'palletVersion') continue;
        items++;
        try {
          if (q.creator.meta.type.isPlain) {
            (await q()).toHuman();
            entries++;
          } else {
            for (const [k, v] of await q.entries()) { k.toHuman(); v.toHuman(); entries++; }
          }
        } catch (e) {
          assert.fail(`storage ${s}.${item} does not decode: ${e.message}`);
        }
      }
    }
    console.log(`decoded ${items} storage items (${entries} values) of ${Object.keys(PALLETS).join(', ')}`);
    const typeWarnings = warnings.filter((w) => !/RPC methods not decorated/.test(w));
    assert.deepEqual(typeWarnings, [], 'polkadot.js printed warnings or errors');
  });
});
