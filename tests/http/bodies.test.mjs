// Request bodies without a Content-Length (chunked) are read as they arrive and cut at
// the limit (issue 20, item 2): a 10 MB chunked body is refused once its first 64 KiB
// are in, a slow one without waiting for its end, and a body that cannot be read to its
// end (the client went away) is never taken for `{}`. Raw node:http requests, since
// fetch would buffer or set a length.
import assert from "node:assert/strict";
import { request } from "node:http";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { call } from "../support/api.mjs";
import { ADMIN_AUTH } from "../support/secrets.mjs";
import { startWorker } from "../support/wrangler.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(async () => {
  await worker?.stop();
});

/**
 * POST `path` chunked over a raw socket: `chunks` chunks of `size` bytes, `gap` ms
 * apart. Resolves with the status and body of the answer, the bytes written before it
 * arrived and the ms it took. With `finish`, the upload is finished after the answer
 * (without the gaps); otherwise it is dropped there.
 */
function chunked(path, { chunks, size, gap = 0, finish = false, on = worker }) {
  const url = new URL(path, on.url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let written = 0;
    let answer = "";
    let result;
    const parse = () => {
      const end = answer.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = answer.slice(0, end);
      const length = Number(head.match(/content-length: (\d+)/i)?.[1] ?? NaN);
      const body = answer.slice(end + 4);
      if (!(Buffer.byteLength(body) >= length)) return;
      try {
        result = { status: Number(head.split(" ")[1]), body: JSON.parse(body.slice(0, length)), written, ms: performance.now() - started };
      } catch {
        result = new Error(`not JSON: ${JSON.stringify(answer)}`);
      }
    };
    const socket = connect(Number(url.port), url.hostname);
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within 20 s: ${JSON.stringify(answer)}`));
    }, 20_000);
    socket.on("close", () => clearTimeout(guard));
    socket.on("data", (d) => {
      answer += d;
      if (!result) parse();
    });
    socket.on("error", (e) => (result ? undefined : reject(e)));
    const chunk = Buffer.alloc(size, " ");
    chunk[0] = "{".charCodeAt(0);
    const frame = (bytes) => Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from("\r\n")]);
    (async () => {
      socket.write(
        `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
      );
      for (let i = 0; i < chunks && !socket.destroyed && (finish || !result); i++) {
        if (!socket.write(frame(chunk))) await new Promise((r) => socket.once("drain", r));
        if (!result) written += size;
        chunk[0] = " ".charCodeAt(0);
        if (gap && !result) await new Promise((r) => setTimeout(r, gap));
      }
      if (!socket.destroyed && finish) socket.write(Buffer.concat([frame(Buffer.from("}")), Buffer.from("0\r\n\r\n")]));
      const deadline = Date.now() + 10_000;
      while (!result && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      socket.destroy();
      if (result instanceof Error) reject(result);
      else if (result) resolve(result);
      else reject(new Error(`no answer: ${JSON.stringify(answer)}`));
    })().catch(reject);
  });
}

// Each chunked upload goes to a worker of its own, dropped at the answer: wrangler
// dev's local proxy may answer 503 ("worker restarted mid-request") or stall on a
// request whose worker answered before the upload ended, and on the next request after
// it. Production has no such proxy.
async function own(fn) {
  const w = await startWorker();
  try {
    return await fn(w);
  } finally {
    await w.stop();
  }
}

describe("chunked bodies", () => {
  test("a chunked body within the limit is read as any other", async () => {
    const res = await chunked("/api/licenses/validate", { chunks: 2, size: 1024, finish: true });
    // `{ ... }` of blanks: a body without the token, refused for what it is.
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error.code, "INVALID_BODY");
  });

  test("a slow 200 KiB chunked body gets its 413 without waiting for its end", () =>
    own(async (on) => {
      // 50 chunks of 4 KiB, 40 ms apart: 2 s to send in full; the limit falls at chunk 17.
      const res = await chunked("/api/licenses/validate", { chunks: 50, size: 4 * 1024, gap: 40, on });
      assert.equal(res.status, 413, JSON.stringify(res.body));
      assert.equal(res.body.error.code, "PAYLOAD_TOO_LARGE");
      assert.ok(res.written < 200 * 1024, `answered after ${res.written} of 200 KiB`);
      console.log(`# slow 200 KiB chunked: 413 after ${res.written} bytes, ${res.ms.toFixed(0)} ms (sending it all takes 2,000 ms)`);
    }));

  test("a 10 MB chunked body is refused at the limit, not read whole", () =>
    own(async (on) => {
      const res = await chunked("/api/seats/checkout", { chunks: 160, size: 64 * 1024, gap: 5, on });
      assert.equal(res.status, 413, JSON.stringify(res.body));
      assert.equal(res.body.error.code, "PAYLOAD_TOO_LARGE");
      assert.ok(res.written < 1024 * 1024, `answered after ${res.written} of 10 MiB`);
      console.log(`# 10 MiB chunked: 413 after ${res.written} bytes written, ${res.ms.toFixed(0)} ms`);
    }));
});

describe("a body that cannot be read", () => {
  test("is never taken for {}: a client gone mid-body creates no token", async () => {
    const before = (await call(worker, "GET", "/api/tokens")).body.items.length;
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => {
        const req = request(new URL("/api/tokens", worker.url), {
          method: "POST",
          headers: { "Content-Type": "application/json", "Transfer-Encoding": "chunked", Authorization: ADMIN_AUTH },
        });
        req.on("error", () => {});
        req.write('{"description": "half');
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 200);
      });
    }
    // Give the worker time to have acted on the cut bodies, had it read them as `{}`.
    await new Promise((r) => setTimeout(r, 1000));
    const tokens = (await call(worker, "GET", "/api/tokens")).body.items;
    assert.equal(tokens.length, before, `no token from a cut body: ${JSON.stringify(tokens.map((t) => t.description))}`);
  });
});
