#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# recvtty.py SOCKET OUT [INPUT]: the receiving end of --console-socket. Listens on SOCKET (made
# under a temporary name and renamed, so that the path existing means it is ready), accepts one
# connection, takes the pty master passed with SCM_RIGHTS, writes INPUT to it if given, and copies
# everything the container prints to OUT until the terminal closes. OUT.fd gets what was passed:
# "fd <target of the fd>" or "no fd".
import array
import os
import signal
import socket
import sys


def main():
    path, out = sys.argv[1], sys.argv[2]
    data = sys.argv[3] if len(sys.argv) > 3 else None
    signal.alarm(60)  # never outlive a broken test
    tmp = path + ".tmp"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(tmp)
    srv.listen(1)
    os.rename(tmp, path)
    conn, _ = srv.accept()
    fds = array.array("i")
    msg, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    with open(out + ".fd", "w") as f:
        if fds:
            f.write("fd %s\n" % os.readlink("/proc/self/fd/%d" % fds[0]))
        else:
            f.write("no fd\n")
    if not fds:
        return 1
    master = fds[0]
    if data is not None:
        os.write(master, data.encode())
    with open(out, "wb") as f:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every slave fd is closed
                break
            if not chunk:
                break
            f.write(chunk)
            f.flush()
    os.close(master)
    return 0


if __name__ == "__main__":
    sys.exit(main())
