"""Hostile TCP peers against //images:webserver, with real packets.

QEMU's user networking ends TCP on the host, so no crafted segment can reach
a guest through it. Here the guest's NIC is a tap device in a network
namespace this test makes (tap_guest.py), and rawtcp.py writes segments by
hand from spoofed addresses: out-of-order floods, SYN floods from thousands
of addresses, zero-window readers, RST and FIN in every state, bad
checksums, overlapping and wrapped sequence numbers, tiny MSS options,
window-probe storms, and one address opening more connections than its
share.

Each scenario checks, with counts and bytes, that a legitimate client (the
host's own TCP stack) is meanwhile served complete and correct responses,
and that the guest's connection and memory counters (the `s` console key)
come back to their baseline afterwards. The server's time limits are
lowered (--request_timeout_ms, --send_timeout_ms) so that takes seconds.

Runs as root (network namespace, tap device, packet socket); all traffic
stays inside the namespace.
"""

import itertools
import os
import random
import resource
import shutil
import socket
import sys
import tempfile
import threading
import time
import unittest

import rawtcp
import tap_guest
from rawtcp import ACK, FIN, PSH, RST, SYN

rng = random.Random(13)
SITE = {
    "/index.html": b"<!doctype html><title>tap</title><h1>hello through a tap</h1>\n" * 4,
    "/page.html": b"<p>a small page</p>\n" * 30,
    "/64k.bin": rng.randbytes(64 * 1024),
    "/1m.bin": rng.randbytes(1024 * 1024),
}
LEGIT_PATHS = ["/index.html", "/page.html", "/64k.bin"]
# How long the guest may answer 503 after 1,000 connections close (it frees
# them as their closes arrive; seconds under TCG on a busy host).
RECOVERY_S = 60


def addresses():
    """Peer addresses 10.77.1.0 and up, each used once."""
    for third in range(1, 255):
        for fourth in range(0, 256):
            yield "10.77.%d.%d" % (third, fourth)


def request(path, close=True):
    return ("GET %s HTTP/1.1\r\nHost: guest\r\n%s\r\n"
            % (path, "Connection: close\r\n" if close else "")).encode()


class HostilePeersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        site = os.path.join(cls.tmp, "site")
        for path, body in SITE.items():
            os.makedirs(os.path.dirname(site + path), exist_ok=True)
            with open(site + path, "wb") as f:
                f.write(body)
        cls.guest = tap_guest.TapGuest(site, "--request_timeout_ms=3000",
                                       "--send_timeout_ms=3000", "--linger_ms=500")
        cls.link = rawtcp.Link(tap_guest.TAP, tap_guest.GUEST_IP, tap_guest.PEER_PREFIX)
        cls.link.resolve_guest(tap_guest.HOST_IP)
        cls.peers = addresses()
        cls.ports = itertools.cycle(range(20000, 60000))
        # Warm up (every file once, so the fs cache is filled), then the
        # baseline every scenario must come back to.
        cls.legit(cls)
        cls.baseline = cls.guest.counters()

    @classmethod
    def tearDownClass(cls):
        cls.link.close()
        cls.guest.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def legit(self, rounds=1):
        """The legitimate client: every page and file, `rounds` times, each
        complete and byte-exact. Returns (responses, bytes)."""
        responses = size = 0
        for _ in range(rounds):
            for path in LEGIT_PATHS:
                status, body = tap_guest.get(path)
                assert status == 200, "legitimate GET %s: %d" % (path, status)
                assert body == SITE[path], "legitimate GET %s: %d bytes, not the file's %d" % (
                    path, len(body), len(SITE[path]))
                responses += 1
                size += len(body)
        return responses, size

    def conn(self, **kw):
        return rawtcp.Conn(self.link, next(self.peers), next(self.ports), **kw)

    def finish(self, name, legit):
        """The guest is alive, the legitimate client was served, and the
        counters come back to the baseline."""
        self.assertTrue(self.guest.alive(), self.guest.text()[-3000:])
        after = self.guest.wait_baseline(self.baseline)
        sys.stderr.write("%s: legitimate client served %d responses, %d bytes; back at baseline "
                         "(sockets %d, tcp active %d, lwip heap %d B, pool %d, heap %d B; "
                         "high water: lwip heap %d B, pool %d)\n"
                         % (name, legit[0], legit[1], after["sockets"], after["tcp_active"],
                            after["lwip_heap"], after["pool"], after["heap"],
                            after["lwip_heap_high"], after["pool_high"]))
        # A last check that the guest still serves after recovering.
        self.legit()

    def test_out_of_order_flood(self):
        # 40 connections each leave a one-byte gap at rcv_nxt and send 40
        # one-byte segments beyond it: none can be delivered, all would be
        # queued. Twice, with a legitimate client in between and after.
        conns = [self.conn() for _ in range(40)]
        for c in conns:
            self.assertTrue(c.connect(), "no SYN-ACK for %s" % c.ip)
        served = [0, 0]
        for round_ in range(2):
            for k in range(40):
                for c in conns:
                    c.send(PSH | ACK, b"x", seq=c.snd_nxt + 1 + 2 * (k + 40 * round_))
            n, b = self.legit(2)
            served[0] += n
            served[1] += b
        for c in conns:
            c.send(RST, seq=c.snd_nxt)
            c.close()
        self.finish("out-of-order flood", served)

    def test_syn_flood_from_many_addresses(self):
        # SYNs from a new address each, about 1,000 a second, that nobody
        # will ever complete: within the 20 s a half-open connection lives,
        # far more than the listen backlog (255) and the PCBs (1,100). The
        # flood goes on while the legitimate client connects. In bursts of
        # 50, so the tap's queue (500 frames) does not drop them first.
        before = sum(self.link.syn_acks.values())
        stop = threading.Event()
        sent = [0]

        def flood():
            while not stop.is_set():
                for _ in range(50):
                    self.link.send_tcp(next(self.peers), next(self.ports), 80,
                                       rng.getrandbits(32), 0, SYN,
                                       options=rawtcp.mss_option(1460))
                sent[0] += 50
                time.sleep(0.05)
        flooder = threading.Thread(target=flood)
        flooder.start()
        try:
            time.sleep(3)
            served = self.legit(3)
        finally:
            stop.set()
            flooder.join()
        answered = sum(self.link.syn_acks.values()) - before
        sys.stderr.write("syn flood: %d SYNs; the guest sent %d SYN-ACKs to the flood's "
                         "addresses\n" % (sent[0], answered))
        self.assertGreater(answered, 1100)  # the flood filled the backlog and the PCBs
        self.finish("syn flood", served)

    def test_zero_window_readers(self):
        # 30 clients ask for 1 MiB, take the first 2,920 bytes and then shut
        # their window, answering every probe with a zero window.
        conns = [self.conn(window=2920) for _ in range(30)]
        for c in conns:
            self.assertTrue(c.connect())
            c.reader = True
            c.send_data(request("/1m.bin"))
        for c in conns:
            self.assertTrue(c.wait(lambda c: len(c.data) >= 1460, 20),
                            "no data for a zero-window reader")
            c.zero_window = True
            c._ack_now()
        served = self.legit(2)
        # The server gives up on them (send timeout) and resets them.
        for c in conns:
            self.assertTrue(c.wait(lambda c: c.reset_received or c.fin_received, 60),
                            "a zero-window reader was never cut off")
            c.close()
        self.finish("zero-window readers", served)

    def test_rst_and_fin_in_every_state(self):
        page = SITE["/page.html"]
        # SYN-RECEIVED, then RST: the connection is gone and the same
        # addresses connect again.
        c = self.conn()
        self.assertTrue(c.connect(ack=False))
        c.send(RST, seq=c.snd_nxt)
        c.close()
        again = rawtcp.Conn(self.link, c.ip, c.port)
        self.assertTrue(again.connect())
        # ...an RST outside the window is ignored: the connection still works.
        again.send(RST, seq=again.snd_nxt + 10_000_000)
        again.send_data(request("/page.html"))
        self.assertEqual(again.read_response(), (200, page))
        again.close()
        # ESTABLISHED, RST before any request.
        c = self.conn()
        self.assertTrue(c.connect())
        c.send(RST | ACK)
        c.close()
        # ESTABLISHED, RST in the middle of a 1 MiB response.
        c = self.conn()
        self.assertTrue(c.connect())
        c.reader = True
        c.send_data(request("/1m.bin"))
        self.assertTrue(c.wait(lambda c: len(c.data) > 20000, 20))
        c.send(RST, seq=c.snd_nxt)
        c.close()
        # FIN with no request (CLOSE-WAIT on the guest): the guest closes too.
        c = self.conn()
        self.assertTrue(c.connect())
        c.reader = True
        c.send(FIN | ACK)
        c.snd_nxt += 1
        self.assertTrue(c.wait(lambda c: c.fin_received, 20), "no FIN after the peer's FIN")
        c.close()
        # A request and FIN in one segment (half-close): the whole answer.
        c = self.conn()
        self.assertTrue(c.connect())
        c.send_data(request("/page.html", close=False), flags=FIN | PSH | ACK)
        c.snd_nxt += 1
        self.assertEqual(c.read_response(), (200, page))
        c.close()
        # FIN, then RST before the guest answers it.
        c = self.conn()
        self.assertTrue(c.connect())
        c.send(FIN | ACK)
        c.snd_nxt += 1
        c.send(RST, seq=c.snd_nxt)
        c.close()
        # The guest closes first (Connection: close) and we never send our
        # FIN (FIN-WAIT-2 on the guest), then RST.
        c = self.conn()
        self.assertTrue(c.connect())
        c.send_data(request("/page.html"))
        self.assertEqual(c.read_response(), (200, page))
        self.assertTrue(c.wait(lambda c: c.fin_received, 10), "no FIN after Connection: close")
        c.send(RST, seq=c.snd_nxt)
        c.close()
        # The guest closes first and we close too (TIME-WAIT on the guest),
        # then an RST for the TIME-WAIT connection.
        c = self.conn()
        self.assertTrue(c.connect())
        c.send_data(request("/page.html"))
        self.assertEqual(c.read_response(), (200, page))
        c.send(FIN | ACK)
        c.snd_nxt += 1
        c.send(RST, seq=c.snd_nxt)
        c.close()
        # An RST and a FIN for connections that never existed.
        self.link.send_tcp(next(self.peers), 40000, 80, 1, 0, RST)
        self.link.send_tcp(next(self.peers), 40001, 80, 1, 1, FIN | ACK)
        served = self.legit(1)
        self.finish("rst and fin in every state", served)

    def test_bad_checksums(self):
        # A SYN with a bad TCP or IP checksum gets no answer; the same SYN
        # with good checksums does.
        for kw in ({"bad_checksum": True}, {"bad_ip_checksum": True}):
            c = self.conn()
            c.send(SYN, seq=c.isn, ack=0, **kw)
            time.sleep(1.5)
            self.assertIsNone(c.rcv_nxt, "answered a SYN with %s" % kw)
            self.assertTrue(c.connect())
            c.send(RST, seq=c.snd_nxt)
            c.close()
        # On a connection: a request with a bad checksum is not taken (no
        # answer, not acknowledged); sent again whole, it is.
        c = self.conn()
        self.assertTrue(c.connect())
        c.reader = True
        data = request("/page.html")
        c.send(PSH | ACK, data, bad_checksum=True)
        time.sleep(1.5)
        self.assertEqual(c.data, b"")
        self.assertFalse(any(s.ack == (c.snd_nxt + len(data)) & 0xFFFFFFFF for s in c.segments),
                         "the guest acknowledged a segment with a bad checksum")
        c.send_data(data)
        self.assertEqual(c.read_response(), (200, SITE["/page.html"]))
        c.close()
        self.finish("bad checksums", self.legit(1))

    def test_overlapping_and_wrapped_sequence_numbers(self):
        # The request's sequence numbers wrap past 2^32 after 6 bytes, and
        # it arrives in overlapping, duplicated and reordered pieces.
        c = self.conn(isn=2**32 - 7)
        self.assertTrue(c.connect())
        c.reader = True
        data = request("/page.html")
        start = c.snd_nxt
        for lo, hi in ((20, 40), (0, 12), (8, 30), (0, 12), (35, len(data)), (28, 38)):
            c.send(PSH | ACK, data[lo:hi], seq=start + lo)
        # Data far outside the window, and before it: both ignored.
        c.send(PSH | ACK, b"GARBAGE", seq=start + 3_000_000)
        c.send(PSH | ACK, b"GARBAGE", seq=start - 100_000)
        c.snd_nxt = (start + len(data)) & 0xFFFFFFFF
        self.assertEqual(c.read_response(), (200, SITE["/page.html"]))
        c.close()
        self.finish("overlapping and wrapped sequence numbers", self.legit(1))

    def test_tiny_mss(self):
        # MSS 1 (and 0, which means nothing): the guest must not answer
        # 64 KiB in one-byte segments (it sent nothing at all: lwIP's segment
        # queue overflowed), and the answer arrives whole. The floor is 536
        # (SocketTable::kMinSendMss).
        for mss in (1, 0):
            c = self.conn()
            self.assertTrue(c.connect(options=rawtcp.mss_option(mss)))
            c.send_data(request("/64k.bin"))
            self.assertEqual(c.read_response(60), (200, SITE["/64k.bin"]))
            sizes = [len(s.payload) for s in c.segments if s.payload]
            smallest = min(sizes[:-1])
            sys.stderr.write("tiny mss %d: %d segments, smallest %d bytes\n"
                             % (mss, len(sizes), smallest))
            self.assertGreaterEqual(smallest, 536)
            c.close()
        self.finish("tiny mss", self.legit(1))

    def test_one_address_cannot_take_every_slot(self):
        # One address opens 140 connections and sends nothing: it may hold
        # 128 (--max_connections_per_client); the other 12 get a whole 503,
        # and a client at another address is served meanwhile.
        ip = next(self.peers)
        conns = [rawtcp.Conn(self.link, ip, next(self.ports)) for _ in range(140)]
        for c in conns:
            c.send(SYN, seq=c.isn, ack=0)
        for c in conns:
            self.assertTrue(c.wait(lambda c: c.rcv_nxt is not None, 10), "no SYN-ACK")
            c.snd_nxt = (c.isn + 1) & 0xFFFFFFFF
            c.reader = True
            c.send(ACK)
        refused = [c for c in conns if c.wait(lambda c: c.data.startswith(b"HTTP/1.1 503 "), 0)]
        deadline = time.monotonic() + 10
        while len(refused) < 12 and time.monotonic() < deadline:
            time.sleep(0.2)
            refused = [c for c in conns if c.data.startswith(b"HTTP/1.1 503 ")]
        served = self.legit(1)
        counters = self.guest.counters()
        sys.stderr.write("one address, 140 connections: %d refused with 503; the guest counts %d "
                         "refused per client\n" % (len(refused), counters["refused_per_client"]))
        self.assertEqual(len(refused), 12)
        for c in conns:
            c.send(RST, seq=c.snd_nxt)
            c.close()
        self.finish("one address, many connections", served)

    def test_window_probe_storm(self):
        # 20,000 segments at and past the edge of the window (each asks the
        # guest for an ACK) from 4 connections, the legitimate client in
        # between.
        conns = [self.conn() for _ in range(4)]
        for c in conns:
            self.assertTrue(c.connect())
        served = [0, 0]
        for burst in range(4):
            for k in range(1250):
                for c in conns:
                    if k % 2:
                        c.send(ACK, window=0)
                    else:
                        c.send(ACK, b"p", seq=c.snd_nxt + 0x10000 + k)
            n, b = self.legit(1)
            served[0] += n
            served[1] += b
        for c in conns:
            c.send(RST, seq=c.snd_nxt)
            c.close()
        self.finish("window-probe storm", served)


class MemoryPressureTest(unittest.TestCase):
    """32 MiB of guest memory, less than 512 connections' buffers and
    stacks: 1,000 connections from the host each ask for a page and stay
    open. Each is served or refused (503, reset or refused), never lost,
    and the kernel does not panic. (Through a tap, not QEMU's user
    networking: the same test through slirp took five minutes.)"""

    def test_1000_connections_in_32_mib(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
        tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        with open(os.path.join(tmp, "page.html"), "wb") as f:
            f.write(SITE["/page.html"])
        guest = tap_guest.TapGuest(tmp, mem="32M")
        request = b"GET /page.html HTTP/1.1\r\nHost: x\r\n\r\n"
        socks, served, refused = [], 0, 0
        try:
            for _ in range(1000):
                try:
                    s = socket.create_connection((tap_guest.GUEST_IP, 80), timeout=60)
                    s.sendall(request)
                    socks.append(s)
                except OSError:
                    refused += 1
            for s in socks:
                status, body = read_response(s)
                if status == 200:
                    self.assertEqual(body, SITE["/page.html"])
                    served += 1
                else:
                    self.assertIn(status, (503, None))
                    refused += 1
            counters = guest.counters()
            sys.stderr.write("1000 connections in 32 MiB: %d served, %d refused (the guest "
                             "counts %d refused busy, %d for memory; heap high water %d B, "
                             "free pages low %d of %d)\n"
                             % (served, refused, counters["refused_busy"],
                                counters["refused_memory"], counters["heap_high"],
                                counters["pages_low"], counters["pages"]))
            self.assertEqual(served + refused, 1000)
            self.assertGreater(served, 0)
            self.assertTrue(guest.alive(), guest.text()[-3000:])
            self.assertNotIn("out of memory", guest.text())
        finally:
            for s in socks:
                s.close()
        try:
            # The guest frees the memory of 1,000 connections as their
            # closes arrive; until then a new request may still get 503
            # (refused for memory), never anything else.
            deadline = time.monotonic() + RECOVERY_S
            answer = tap_guest.get("/page.html")
            while answer[0] == 503 and time.monotonic() < deadline:
                time.sleep(0.2)
                answer = tap_guest.get("/page.html")
            self.assertEqual(answer, (200, SITE["/page.html"]))
            self.assertTrue(guest.alive(), guest.text()[-3000:])
        finally:
            guest.stop()
            shutil.rmtree(tmp, ignore_errors=True)


def read_response(s):
    """(status, body) of one response on socket `s`, or (None, b"") if it
    was closed or reset without one."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                return None, b""
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError("closed after %d of %d body bytes" % (len(body), length))
            body += chunk
        return int(head[9:12]), body
    except ConnectionResetError:
        return None, b""


if __name__ == "__main__":
    unittest.main()
