/**
 * Several workerd processes behind one loopback port. workerd runs a config on one thread, so
 * one process uses one core; the way to use more is more processes (`workerd serve --socket-fd
 * http=N`, the socket-activation form). This module opens one listening socket per process on
 * the same port with `SO_REUSEPORT`, so that the kernel spreads incoming connections over the
 * processes by their address hash, and spawns each process with only its own socket.
 *
 * Deno cannot hand a listening socket to a child process, so the sockets are made through libc
 * (`Deno.dlopen`, `--allow-ffi`), on Linux only.
 *
 * @module
 */

import { workerdBinary } from "./prepare.ts";

const AF_INET = 2, SOCK_STREAM = 1, SOL_SOCKET = 1, SO_REUSEADDR = 2, SO_REUSEPORT = 15;
const F_SETFD = 2, FD_CLOEXEC = 1, SOCK_CLOEXEC = 0o2000000;

function openLibc() {
  return Deno.dlopen("libc.so.6", {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
    bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
    listen: { parameters: ["i32", "i32"], result: "i32" },
    fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
    close: { parameters: ["i32"], result: "i32" },
  });
}

/**
 * Spawns `count` processes that all accept connections on one 127.0.0.1 port: opens `count`
 * listening sockets with `SO_REUSEPORT` (close-on-exec), and for each process clears the flag
 * on its own socket only while it is spawned, so that no process holds another's socket (when
 * one exits, the kernel stops sending connections its way). The parent closes its copies.
 * @param port the port
 * @param count how many processes (≥ 1)
 * @param command the command for a process given its socket's descriptor
 * @returns the processes, in spawn order
 */
function spawnOnSharedPort(
  port: number,
  count: number,
  command: (fd: number) => Deno.Command,
): Deno.ChildProcess[] {
  if (Deno.build.os !== "linux") {
    throw new Error(
      `several workerd processes on one port need Linux (SO_REUSEPORT spreads the connections); this is ${Deno.build.os}: use one process`,
    );
  }
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`process count must be an integer ≥ 1, got ${count}`);
  }
  const libc = openLibc();
  const s = libc.symbols;
  const fds: number[] = [];
  const children: Deno.ChildProcess[] = [];
  try {
    const one = new Uint8Array(new Int32Array([1]).buffer);
    for (let i = 0; i < count; i++) {
      const fd = s.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) throw new Error("socket() failed");
      fds.push(fd);
      const addr = new Uint8Array(16);
      const view = new DataView(addr.buffer);
      view.setUint16(0, AF_INET, true);
      view.setUint16(2, port, false);
      addr.set([127, 0, 0, 1], 4);
      if (
        s.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4) !== 0 ||
        s.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, one, 4) !== 0
      ) throw new Error("setsockopt(SO_REUSEADDR, SO_REUSEPORT) failed");
      if (s.bind(fd, addr, 16) !== 0) throw new Error(`bind(127.0.0.1:${port}) failed`);
      if (s.listen(fd, 1024) !== 0) throw new Error("listen() failed");
    }
    for (let i = 0; i < count; i++) {
      s.fcntl(fds[i]!, F_SETFD, 0);
      try {
        children.push(command(fds[i]!).spawn());
      } finally {
        s.fcntl(fds[i]!, F_SETFD, FD_CLOEXEC);
      }
    }
    return children;
  } catch (e) {
    for (const c of children) c.kill("SIGKILL");
    throw e;
  } finally {
    for (const fd of fds) s.close(fd);
    libc.close();
  }
}

/**
 * Starts `workerd serve config` as `processes` processes accepting on 127.0.0.1:`port` (the
 * config's own socket for one process; shared-port sockets for more, which needs Linux and
 * `--allow-ffi`).
 * @param config the workerd config file (its socket is named `http`)
 * @param port its port
 * @param processes how many processes
 * @param opts how each process's output is handled
 * @returns the processes
 */
export function spawnWorkerd(
  config: string,
  port: number,
  processes: number,
  opts: Pick<Deno.CommandOptions, "stdout" | "stderr"> = {},
): Deno.ChildProcess[] {
  const command = (extra: string[]) =>
    new Deno.Command(workerdBinary(), { args: ["serve", config, ...extra], ...opts });
  return processes === 1
    ? [command([]).spawn()]
    : spawnOnSharedPort(port, processes, (fd) => command(["--socket-fd", `http=${fd}`]));
}
