// Copyright 2026 the exec-server authors. MIT license.
// fs/watch under a sandbox, through the real server: the client's profile
// and the operator's --sandbox apply as they do to fs/readFile (a watch on a
// denied path is refused with the same error), a recursive watch does not
// enter a denied directory, and a change to a denied path is not reported.
import assert from "node:assert/strict";
import { type Message, ServerProcess, TestClient } from "./_harness.ts";
import { scratch, workspaceDenyProfile } from "./_sandbox.ts";
import { pathToFileUri } from "../lib/protocol/sandbox.ts";

/** A workspace with a denied directory and a deny glob, and the profile saying so. */
async function workspace(base: string) {
  const w = `${base}/w`;
  const secret = `${w}/secret`;
  await Deno.mkdir(secret, { recursive: true });
  await Deno.writeTextFile(`${secret}/k`, "s3cret\n");
  await Deno.writeTextFile(`${w}/a.env`, "K=V\n");
  const profile = workspaceDenyProfile(w, secret);
  return { w, secret, profile };
}

/** Every fs/changed path the client received so far. */
function changed(client: TestClient): string[] {
  return client.notifications
    .filter((m: Message) => m.method === "fs/changed")
    .flatMap((m: Message) => m.params.paths as string[]);
}

Deno.test("fs/watch obeys the client's profile like fs/readFile", async (t) => {
  await using srv = await ServerProcess.start(["--log-level", "warn"]);
  await using client = await TestClient.connect(srv.url);
  await using tmp = await scratch();
  const { w, secret, profile } = await workspace(tmp.dir);

  await t.step("a watch on a denied path is refused with fs/readFile's error", async () => {
    const read = await client.call("fs/readFile", {
      path: pathToFileUri(`${secret}/k`),
      sandbox: profile,
    });
    for (
      const [path, recursive] of [[secret, true], [`${secret}/k`, false], [
        `${w}/a.env`,
        false,
      ]] as const
    ) {
      const r = await client.call("fs/watch", {
        path: pathToFileUri(path),
        recursive,
        sandbox: profile,
      });
      assert.equal(r.error?.code, -32600, `${path}: ${JSON.stringify(r)}`);
      assert.match(
        r.error.message,
        /^Permission denied \(os error 13\): .* is denied by the sandbox profile/,
      );
    }
    assert.equal(read.error?.code, -32600);
  });

  await t.step("a recursive watch skips denied directories and paths", async () => {
    const { watchId } = await client.request("fs/watch", {
      path: pathToFileUri(w),
      recursive: true,
      sandbox: profile,
    });
    await Deno.writeTextFile(`${secret}/k`, "changed\n");
    await Deno.writeTextFile(`${w}/a.env`, "K=W\n");
    await Deno.writeTextFile(`${w}/ok.txt`, "ok\n");
    // inotify reports in order over one instance: once ok.txt is in, the
    // two changes before it would be too.
    await client.waitUntil(
      () => changed(client).includes(`${w}/ok.txt`) || undefined,
      10_000,
      "ok.txt's change",
    );
    const seen = changed(client);
    assert.deepEqual(
      seen.filter((p) => p.startsWith(secret) || p.endsWith(".env")),
      [],
      seen.join("\n"),
    );
    assert.deepEqual(await client.request("fs/unwatch", { watchId }), {});
  });
});

Deno.test("fs/watch without a profile obeys the operator's --sandbox", async () => {
  await using tmp = await scratch();
  const { w, secret, profile } = await workspace(tmp.dir);
  const file = `${tmp.dir}/profile.json`;
  await Deno.writeTextFile(file, JSON.stringify(profile));
  await using srv = await ServerProcess.start(["--log-level", "warn", "--sandbox", file]);
  await using client = await TestClient.connect(srv.url);
  const read = await client.call("fs/readFile", {
    path: pathToFileUri(`${secret}/k`),
    sandbox: null,
  });
  assert.equal(read.error?.code, -32600, JSON.stringify(read));
  const r = await client.call("fs/watch", { path: pathToFileUri(secret), recursive: false });
  assert.equal(r.error?.code, -32600, JSON.stringify(r));
  const ok = await client.request("fs/watch", { path: pathToFileUri(w), recursive: false });
  assert.deepEqual(await client.request("fs/unwatch", { watchId: ok.watchId }), {});
});
