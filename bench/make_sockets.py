#!/usr/bin/env python3
"""Fills the current network namespace with TCP sockets for the snapshot bench.

make_sockets.py TIME_WAIT ESTABLISHED
Leaves TIME_WAIT client sockets (no fd needed; they last 60 s) and holds
ESTABLISHED pairs open until stdin closes. Prints "ready" when done.
"""
import socket
import sys

time_wait, established = int(sys.argv[1]), int(sys.argv[2])
ports = [9000 + i for i in range(8)]
listeners = []
for port in ports:
    l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", port))
    l.listen(4096)
    listeners.append(l)

for i in range(time_wait):
    l = listeners[i % len(listeners)]
    c = socket.create_connection(("127.0.0.1", ports[i % len(ports)]))
    s, _ = l.accept()
    c.close()  # the client closes first: its side stays in TIME_WAIT
    s.close()

held = []
for i in range(established):
    c = socket.create_connection(("127.0.0.1", ports[0]))
    s, _ = listeners[0].accept()
    held += [c, s]

print("ready", flush=True)
sys.stdin.read()
