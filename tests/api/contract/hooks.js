/*
 * Dredd hooks for kvmm's contract test (run by run-dredd.sh, which sets the environment
 * below). Dredd makes one transaction per response code the spec documents; these hooks
 * decide, for each, either to skip it with a logged reason or to put kvmm into the state
 * that makes that code the right answer. Every state is prepared directly over kvmm's Unix
 * socket before the transaction, so the transactions do not depend on each other's order;
 * only vmm.shutdown is moved to the end, because kvmm exits after answering it.
 *
 * Dredd 14 reads no JSON Schema out of an OpenAPI 3 document: it only generates an example
 * body, and Gavel then demands every key of that example (for VmInfo, every optional field
 * of VmConfig). So the hooks hand Gavel the spec's own response schema instead, converted to
 * JSON Schema, and also check each request body they send against the spec: valid for a
 * success, invalid for a 400.
 *
 * Environment: KVMM_API_SOCKET (kvmm's socket), KVMM_API_SPEC (the spec Dredd reads),
 * KVMM_CONTRACT_WORKDIR (scratch directory for the guest and disk files),
 * KVMM_CONTRACT_HOOKS_LOG (the hooks' log), KVMM_CONTRACT_BOOT=1 when /dev/kvm can run the
 * tiny test guest below; for hot-plugging into it, KVMM_CONTRACT_TAP (a TAP interface
 * run-dredd.sh made) and KVMM_CONTRACT_VIRTIOFSD_SOCKET (a virtiofsd it started), each with
 * a KVMM_CONTRACT_NO_..._WHY when there is none. NODE_PATH must reach the Dredd install (ajv,
 * js-yaml).
 */
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const hooks = require('hooks');
const Ajv = require('ajv');
const yaml = require('js-yaml');

const SOCK = process.env.KVMM_API_SOCKET;
const SPEC = yaml.safeLoad(fs.readFileSync(process.env.KVMM_API_SPEC, 'utf8'));
const WORK = process.env.KVMM_CONTRACT_WORKDIR;
const LOG = process.env.KVMM_CONTRACT_HOOKS_LOG;
const BOOT = process.env.KVMM_CONTRACT_BOOT === '1';
const NO_BOOT_WHY = process.env.KVMM_CONTRACT_NO_BOOT_WHY || 'KVMM_CONTRACT_BOOT is not 1';
const TAP = process.env.KVMM_CONTRACT_TAP || '';
const NO_TAP_WHY = process.env.KVMM_CONTRACT_NO_TAP_WHY || 'KVMM_CONTRACT_TAP is not set';
const VFSD_SOCK = process.env.KVMM_CONTRACT_VIRTIOFSD_SOCKET || '';
const NO_VFSD_WHY = process.env.KVMM_CONTRACT_NO_VIRTIOFSD_WHY ||
  'KVMM_CONTRACT_VIRTIOFSD_SOCKET is not set';

const KERNEL = path.join(WORK, 'guest.elf');
const DISK = path.join(WORK, 'disk.raw');
const HOT_DISK = path.join(WORK, 'hot-disk.raw');

function log(msg) {
  fs.appendFileSync(LOG, `${msg}\n`);
  hooks.log(msg);
}

/*
 * A PVH ELF that only halts: one PT_LOAD at 1 MiB holding the whole file, a PT_NOTE with
 * XEN_ELFNOTE_PHYS32_ENTRY, and the code "1: hlt; jmp 1b". With the in-kernel irqchip the
 * halted vCPU sleeps, so a booted VM costs no CPU and stays Running until it is stopped.
 */
function writeGuest(file) {
  const base = 0x100000;
  const phoff = 64;
  const noteOff = phoff + 2 * 56;
  const codeOff = noteOff + 20;
  const code = Buffer.from([0xf4, 0xeb, 0xfd]);
  const size = codeOff + code.length;
  const b = Buffer.alloc(size);

  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(b, 0); // ELF64, LSB, version 1
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(62, 18); // EM_X86_64
  b.writeUInt32LE(1, 20);
  b.writeBigUInt64LE(BigInt(base + codeOff), 24); // e_entry
  b.writeBigUInt64LE(BigInt(phoff), 32);
  b.writeUInt16LE(64, 52); // e_ehsize
  b.writeUInt16LE(56, 54); // e_phentsize
  b.writeUInt16LE(2, 56); // e_phnum
  const phdr = (at, type, flags, off, addr, len, align) => {
    b.writeUInt32LE(type, at);
    b.writeUInt32LE(flags, at + 4);
    b.writeBigUInt64LE(BigInt(off), at + 8);
    b.writeBigUInt64LE(BigInt(addr), at + 16); // p_vaddr
    b.writeBigUInt64LE(BigInt(addr), at + 24); // p_paddr
    b.writeBigUInt64LE(BigInt(len), at + 32); // p_filesz
    b.writeBigUInt64LE(BigInt(len), at + 40); // p_memsz
    b.writeBigUInt64LE(BigInt(align), at + 48);
  };
  phdr(phoff, 1, 5, 0, base, size, 0x1000); // PT_LOAD, R+X
  phdr(phoff + 56, 4, 4, noteOff, base + noteOff, 20, 4); // PT_NOTE
  b.writeUInt32LE(4, noteOff); // namesz ("Xen\0")
  b.writeUInt32LE(4, noteOff + 4); // descsz
  b.writeUInt32LE(18, noteOff + 8); // XEN_ELFNOTE_PHYS32_ENTRY
  b.write('Xen\0', noteOff + 12, 'latin1');
  b.writeUInt32LE(base + codeOff, noteOff + 16);
  code.copy(b, codeOff);
  fs.writeFileSync(file, b);
}

/*
 * An OpenAPI 3.0 schema as draft-07 JSON Schema: component references become definitions,
 * and the integer formats (which JSON Schema does not know) become their ranges.
 */
const INT_RANGE = {
  int8: [-128, 127], int16: [-32768, 32767], int32: [-2147483648, 2147483647],
  uint8: [0, 255], uint16: [0, 65535], uint32: [0, 4294967295],
};

function convert(node) {
  if (Array.isArray(node)) return node.map(convert);
  if (node === null || typeof node !== 'object') return node;
  const outNode = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref') {
      outNode.$ref = v.replace('#/components/schemas/', '#/definitions/');
    } else if (k === 'format' && INT_RANGE[v]) {
      [outNode.minimum, outNode.maximum] = INT_RANGE[v];
    } else if (k === 'format' && (v === 'int64' || v === 'uint64')) {
      // no range a JavaScript number can check exactly
    } else if (k === 'properties' || k === 'definitions') {
      outNode[k] = Object.fromEntries(Object.entries(v).map(([n, sub]) => [n, convert(sub)]));
    } else {
      outNode[k] = convert(v);
    }
  }
  return outNode;
}

const DEFINITIONS = convert({ definitions: SPEC.components.schemas }).definitions;

function jsonSchema(oasSchema) {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    definitions: DEFINITIONS,
    allOf: [convert(oasSchema)],
  };
}

const ajv = new Ajv({ allErrors: true });

function schemaErrors(schema, data) {
  return ajv.validate(schema, data) ? [] : ajv.errors.map((e) => `${e.dataPath || '/'} ${e.message}`);
}

function operation(t) {
  const op = (SPEC.paths[t.request.uri] || {})[t.request.method.toLowerCase()];
  if (!op) throw new Error(`no ${t.request.method} ${t.request.uri} in the spec`);
  return op;
}

/* The spec's schema for the response Dredd expects, or null when it documents no body. */
function responseSchema(t) {
  const res = operation(t).responses[t.expected.statusCode];
  const media = res && res.content && res.content['application/json'];
  return media && media.schema ? media.schema : null;
}

/* One request straight to kvmm's Unix socket: resolves to {status, body}. */
function api(method, ep, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? '' : JSON.stringify(body);
    const req = http.request({
      socketPath: SOCK,
      method,
      path: `/api/v1/${ep}`,
      agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.setTimeout(60000, () => req.destroy(new Error(`${method} ${ep}: no answer in 60 s`)));
    req.on('error', reject);
    req.end(data);
  });
}

async function expect(method, ep, body, status) {
  const r = await api(method, ep, body);
  if (r.status !== status) {
    throw new Error(`${method} ${ep} ${body === undefined ? '' : JSON.stringify(body)} ` +
      `answered ${r.status} ${r.body}, not ${status}`);
  }
}

/*
 * The VmConfig for vm.create: the mapped fields, with a kernel file that exists. Guest RAM is
 * shared, as virtio-fs needs it to be (vm.add-fs).
 */
function vmConfig(extra) {
  return {
    payload: { kernel: KERNEL, cmdline: 'console=ttyS0 panic=-1' },
    cpus: { boot_vcpus: 1, max_vcpus: 1 },
    memory: { size: 64 << 20, shared: true },
    rng: { src: '/dev/urandom' },
    serial: { mode: 'Off' },
    console: { mode: 'Off' },
    ...extra,
  };
}

const DISK_BODY = { path: DISK, readonly: true, id: 'ct-disk' };
const NET_BODY = { tap: 'kvmmct0', mac: '52:54:00:12:34:56', id: 'ct-net' };
const VSOCK_BODY = { cid: 3, socket: path.join(WORK, 'vsock.sock') };
/* Cold-plugged only (no state boots a VM with it): nothing listens on this socket. */
const FS_BODY = {
  tag: 'ct-share', socket: path.join(WORK, 'vfs.sock'), num_queues: 1, queue_size: 1024, id: 'ct-fs',
};

/* The states a transaction can ask for, each reached from any state. */
const STATES = {
  async none() {
    await expect('PUT', 'vm.delete', undefined, 204);
  },
  async created() {
    await STATES.none();
    await expect('PUT', 'vm.create', vmConfig(), 204);
  },
  /* Created, with a disk, a NIC and a virtio-fs device added, so vm.info reports the three
   * arrays. */
  async createdWithDevices() {
    await STATES.created();
    await expect('PUT', 'vm.add-disk', DISK_BODY, 204);
    await expect('PUT', 'vm.add-net', NET_BODY, 204);
    await expect('PUT', 'vm.add-fs', FS_BODY, 204);
  },
  /* No NIC: booting would open the TAP. The disk gives vm.counters a device to report. */
  async running() {
    await STATES.none();
    await expect('PUT', 'vm.create', vmConfig({ disks: [{ path: DISK, id: 'ct-disk' }] }), 204);
    await expect('PUT', 'vm.boot', undefined, 204);
  },
  async paused() {
    await STATES.running();
    await expect('PUT', 'vm.pause', undefined, 204);
  },
  /* Running on 2 of up to 3 vCPUs, the guest asked to eject vCPU 1: the tiny guest has no
   * ACPI code and never does, so the removal stays pending. */
  async ejectPending() {
    await STATES.none();
    await expect('PUT', 'vm.create', vmConfig({ cpus: { boot_vcpus: 2, max_vcpus: 3 } }), 204);
    await expect('PUT', 'vm.boot', undefined, 204);
    await expect('PUT', 'vm.resize', { desired_vcpus: 1 }, 204);
  },
};

/*
 * Endpoints kvmm did not serve when these hooks were written: it answers 501 ("not
 * implemented yet", docs/api.md) or 404 "no such endpoint". beforeAll asks kvmm again, with
 * no VM (where neither answer changes anything). Their transactions are skipped while kvmm
 * still answers so; once it serves one, its transactions run by PLAN, and fail if PLAN has
 * no entry for them yet.
 */
const UNSERVED = ['vm.power-button', 'vm.add-device',
  'vm.remove-device', 'vm.resize', 'vm.snapshot', 'vm.restore', 'vm.resize-disk',
  'vm.resize-zone', 'vm.add-generic-vhost-user', 'vm.add-pmem', 'vm.add-vdpa',
  'vm.add-user-device', 'vm.coredump', 'vm.nmi', 'vm.receive-migration', 'vm.send-migration'];
const unserved = {}; /* endpoint -> why its transactions are skipped */
const probed = {}; /* endpoint -> kvmm's answer, when it serves it now */

/*
 * Hot-plug (x86_64, virtio-pci with ACPI: the tiny guest's VM is one) answers 200 with
 * PciDeviceInfo as soon as the device is in and the guest told; the tiny guest need not take
 * it. A failing hot-plug step (the image, TAP, back-end or socket cannot be opened) is 500.
 * The devices are new ones, beside the running state's disk ct-disk.
 */
const HOT_DISK_BODY = { path: HOT_DISK, id: 'ct-hot-disk' };
const HOT_VSOCK_BODY = { cid: 4, socket: path.join(WORK, 'hot-vsock.sock'), id: 'ct-hot-vsock' };
const NOWHERE = path.join(WORK, 'no-such-dir');

/*
 * What each non-skipped transaction needs, by "<uri> <status>": the state to prepare, the
 * request body (when the spec has one), whether it needs a booted guest, and what else it
 * needs (needs: [the thing, what it is, why there is none]).
 */
const PLAN = {
  '/vmm.ping 200': { state: 'created' },
  '/vmm.shutdown 204': { state: BOOT ? 'running' : 'created' },
  '/vm.info 200': { state: 'createdWithDevices' },
  '/vm.info 404': { state: 'none' },
  '/vm.counters 200': { state: 'running', boot: true },
  '/vm.create 204': {
    state: 'none', body: () => vmConfig({ disks: [DISK_BODY], net: [NET_BODY], fs: [FS_BODY] }),
  },
  '/vm.delete 204': { state: 'createdWithDevices' },
  '/vm.boot 204': { state: 'created', boot: true },
  '/vm.boot 404': { state: 'none' },
  '/vm.pause 204': { state: 'running', boot: true },
  '/vm.pause 404': { state: 'none' },
  '/vm.pause 405': { state: 'created' },
  '/vm.resume 204': { state: 'paused', boot: true },
  '/vm.resume 404': { state: 'none' },
  '/vm.resume 405': { state: 'created' },
  '/vm.shutdown 204': { state: 'running', boot: true },
  '/vm.shutdown 404': { state: 'none' },
  '/vm.shutdown 405': { state: 'created' },
  '/vm.reboot 204': { state: 'running', boot: true },
  '/vm.reboot 404': { state: 'none' },
  '/vm.reboot 405': { state: 'created' },
  '/vm.power-button 204': { state: 'running', boot: true },
  '/vm.power-button 404': { state: 'none' },
  '/vm.power-button 405': { state: 'created' },
  '/vm.add-disk 200': { state: 'running', boot: true, body: () => HOT_DISK_BODY },
  '/vm.add-disk 204': { state: 'created', body: () => DISK_BODY },
  /* "Qcow3" is not in the ImageType enum: invalid by the schema itself. */
  '/vm.add-disk 400': { state: 'created', body: () => ({ path: DISK, image_type: 'Qcow3' }) },
  '/vm.add-disk 404': { state: 'none', body: () => DISK_BODY },
  /* The same id as the disk createdWithDevices added. */
  '/vm.add-disk 409': { state: 'createdWithDevices', body: () => ({ path: DISK, id: DISK_BODY.id }) },
  /* Hot-plug opens the image: there is none. */
  '/vm.add-disk 500': {
    state: 'running', boot: true, body: () => ({ path: path.join(NOWHERE, 'disk.raw'), id: 'ct-hot-disk' }),
  },
  '/vm.add-net 200': {
    state: 'running',
    boot: true,
    needs: [TAP, 'a TAP interface for kvmm to open', NO_TAP_WHY],
    body: () => ({ tap: TAP, id: 'ct-hot-net' }),
  },
  '/vm.add-net 204': { state: 'created', body: () => NET_BODY },
  /* num_queues must be an integer: invalid by the schema itself. */
  '/vm.add-net 400': { state: 'created', body: () => ({ tap: 'kvmmct0', num_queues: 'two' }) },
  '/vm.add-net 404': { state: 'none', body: () => NET_BODY },
  '/vm.add-net 409': { state: 'createdWithDevices', body: () => ({ tap: 'kvmmct1', id: NET_BODY.id }) },
  /* Hot-plug opens the TAP by name: there is no such interface (kvmm does not create one). */
  '/vm.add-net 500': { state: 'running', boot: true, body: () => ({ tap: 'kvmmct-none', id: 'ct-hot-net' }) },
  '/vm.add-fs 200': {
    state: 'running',
    boot: true,
    needs: [VFSD_SOCK, 'a virtiofsd (vhost-user back-end) to connect to', NO_VFSD_WHY],
    body: () => ({ tag: 'ct-hot-fs', socket: VFSD_SOCK, num_queues: 1, queue_size: 1024, id: 'ct-hot-fs' }),
  },
  '/vm.add-fs 204': { state: 'created', body: () => FS_BODY },
  /* num_queues must be an integer: invalid by the schema itself. */
  '/vm.add-fs 400': { state: 'created', body: () => ({ ...FS_BODY, num_queues: 'one' }) },
  '/vm.add-fs 404': { state: 'none', body: () => FS_BODY },
  /* The same id as the fs device createdWithDevices added. */
  '/vm.add-fs 409': { state: 'createdWithDevices', body: () => ({ ...FS_BODY, tag: 'ct-other' }) },
  /* Hot-plug connects to the vhost-user back-end: nothing is there. */
  '/vm.add-fs 500': {
    state: 'running', boot: true, body: () => ({ ...FS_BODY, socket: path.join(NOWHERE, 'vfs.sock') }),
  },
  '/vm.add-vsock 200': { state: 'running', boot: true, body: () => HOT_VSOCK_BODY },
  '/vm.add-vsock 204': { state: 'created', body: () => VSOCK_BODY },
  /* cid must be an integer: invalid by the schema itself. */
  '/vm.add-vsock 400': { state: 'created', body: () => ({ cid: 'three', socket: VSOCK_BODY.socket }) },
  '/vm.add-vsock 404': { state: 'none', body: () => VSOCK_BODY },
  /* The same id as the disk createdWithDevices added. */
  '/vm.add-vsock 409': { state: 'createdWithDevices', body: () => ({ ...VSOCK_BODY, id: DISK_BODY.id }) },
  /* Hot-plug binds the socket: its directory does not exist. */
  '/vm.add-vsock 500': {
    state: 'running', boot: true, body: () => ({ ...HOT_VSOCK_BODY, socket: path.join(NOWHERE, 'v.sock') }),
  },
  /* Before boot a device leaves the config: the disk createdWithDevices added. */
  '/vm.remove-device 204': { state: 'createdWithDevices', body: () => ({ id: DISK_BODY.id }) },
  '/vm.remove-device 404': { state: 'none', body: () => ({ id: DISK_BODY.id }) },
  /* The tiny guest's one vCPU, asked for again: nothing to add or eject. */
  '/vm.resize 204': { state: 'running', boot: true, body: () => ({ desired_vcpus: 1 }) },
  '/vm.resize 404': { state: 'none', body: () => ({ desired_vcpus: 1 }) },
  /* Any vCPU change while vCPU 1's removal is pending. */
  '/vm.resize 429': { state: 'ejectPending', boot: true, body: () => ({ desired_vcpus: 2 }) },
};

function keyOf(t) {
  return `${t.request.uri} ${t.expected.statusCode}`;
}

function skip(t, why) {
  t.skip = true;
  log(`skip ${t.request.method} (${t.expected.statusCode}) ${t.request.uri}: ${why}`);
}

hooks.beforeAll(async (transactions, done) => {
  try {
    fs.writeFileSync(LOG, '');
    writeGuest(KERNEL);
    fs.writeFileSync(DISK, Buffer.alloc(1 << 20));
    fs.writeFileSync(HOT_DISK, Buffer.alloc(1 << 20));
    log(`guest boot: ${BOOT ? 'enabled (tiny PVH guest)' : `disabled (${NO_BOOT_WHY})`}`);
    /* kvmm exits after vmm.shutdown: run it last. The array is Dredd's own, run by index. */
    const last = transactions.findIndex((t) => keyOf(t) === '/vmm.shutdown 204');
    if (last >= 0) transactions.push(...transactions.splice(last, 1));
    await STATES.none();
    for (const ep of UNSERVED) {
      const r = await api('PUT', ep, {});
      if (r.status === 501) {
        unserved[ep] = `kvmm answers 501: ${r.body}`;
      } else if (r.status === 404 && r.body.includes('no such endpoint')) {
        unserved[ep] = `kvmm does not serve this endpoint: 404 ${r.body}`;
      } else {
        probed[ep] = `${r.status} ${r.body}`;
        log(`${ep} is served now (with no VM, PUT {} gets ${probed[ep]}): running its PLAN`);
      }
    }
  } catch (e) {
    log(`beforeAll failed: ${e.stack}`);
    for (const t of transactions) t.fail = `hooks beforeAll failed: ${e.message}`;
  }
  done();
});

hooks.beforeEach(async (t, done) => {
  const ep = t.request.uri.replace(/^\//, '');
  const key = keyOf(t);
  const plan = PLAN[key];

  try {
    if (unserved[ep]) {
      skip(t, unserved[ep]);
    } else if (!plan) {
      t.fail = probed[ep]
        ? `kvmm serves ${ep} now (PUT {} with no VM gets ${probed[ep]}), but hooks.js ` +
          `has no plan for ${key}: write one`
        : `hooks.js has no plan for ${key}: the spec gained a response?`;
      log(`FAIL ${key}: ${t.fail}`);
    } else if (plan.skip) {
      skip(t, plan.skip);
    } else if (plan.boot && !BOOT) {
      skip(t, `needs a booted guest, and guest boot is disabled: ${NO_BOOT_WHY}`);
    } else if (plan.needs && !plan.needs[0]) {
      skip(t, `needs ${plan.needs[1]} besides the booted guest, and has none: ${plan.needs[2]}`);
    } else {
      if (plan.body) {
        /* The body must be what the transaction claims: schema-valid unless it tests 400. */
        const body = plan.body();
        const reqSchema = operation(t).requestBody.content['application/json'].schema;
        const errors = schemaErrors(jsonSchema(reqSchema), body);
        const want400 = String(t.expected.statusCode) === '400';
        if (want400 !== (errors.length > 0)) {
          throw new Error(`hooks.js: the request body ${JSON.stringify(body)} is ` +
            `${errors.length ? `invalid (${errors.join('; ')})` : 'valid'} by the spec's ` +
            `${reqSchema.$ref}, which a ${t.expected.statusCode} transaction must not send`);
        }
        t.request.body = JSON.stringify(body);
        t.request.headers['Content-Type'] = 'application/json';
      }
      const resSchema = responseSchema(t);
      if (resSchema) t.expected.bodySchema = JSON.stringify(jsonSchema(resSchema));
      await STATES[plan.state]();
      log(`run  ${t.request.method} (${t.expected.statusCode}) ${t.request.uri} in state ` +
        `${plan.state}${plan.body ? ` with ${t.request.body}` : ''}` +
        `${resSchema ? `, body checked against ${resSchema.$ref}` : ''}`);
    }
  } catch (e) {
    t.fail = `preparing ${key} (state '${plan && plan.state}') failed: ${e.message}`;
    log(`FAIL ${key}: ${t.fail}`);
  }
  done();
});

hooks.afterEach((t, done) => {
  if (!t.skip && t.real) {
    log(`     -> ${t.real.statusCode} ${t.real.body || ''}`.trimEnd());
  }
  done();
});
