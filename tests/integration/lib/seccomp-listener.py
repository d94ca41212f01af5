#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# seccomp-listener.py SOCKET OUT: the receiving end of linux.seccomp.listenerPath. Listens on SOCKET
# (made under a temporary name and renamed: the path existing means it is ready), accepts one
# connection and reads the runtime's message to its end. OUT gets the message (the
# containerProcessState JSON); OUT.fd gets "fd <target>" for the passed fd, or "no fd". The fd is
# then closed, so the filter's notify rules fail with ENOSYS from then on.
import array
import os
import signal
import socket
import sys


def main():
    path, out = sys.argv[1], sys.argv[2]
    signal.alarm(60)
    tmp = path + ".tmp"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(tmp)
    srv.listen(1)
    os.rename(tmp, path)
    conn, _ = srv.accept()
    fds = array.array("i")
    data = b""
    while True:
        msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(4 * fds.itemsize))
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
        if not msg:
            break
        data += msg
    with open(out, "wb") as f:
        f.write(data)
    with open(out + ".fd", "w") as f:
        f.write("fd %s\n" % os.readlink("/proc/self/fd/%d" % fds[0]) if fds else "no fd\n")
    for fd in fds:
        os.close(fd)
    return 0 if fds else 1


if __name__ == "__main__":
    sys.exit(main())
