"""Hand-made TCP segments on a tap device, for the hostile-peer test bed.

A `Link` owns a packet socket on the host side of the tap the guest's NIC is
attached to. It sends Ethernet frames the guest receives as they are (any
flags, sequence numbers, options or checksums), and hands each TCP segment
the guest sends to the `Conn` it belongs to. The test bed's peers use
addresses the host itself does not have (a whole /16 of them), so the
host's own TCP stack never sees their traffic and never answers it; the
link answers the guest's ARP requests for them instead.

A `Conn` is one side of a TCP conversation written by hand: it sends what a
test tells it to, keeps what the guest sends in arrival order, and, in
"reader" mode, acknowledges data in order so a response can be read whole.
Nothing here retransmits: a lost segment is the test's business.

Needs CAP_NET_RAW (root). Only the standard library.
"""

import collections
import random
import socket
import struct
import threading
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
PACKET_OUTGOING = 4

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

# Every spoofed peer answers ARP with this address.
PEER_MAC = bytes.fromhex("020000000001")


def mac_text(mac):
    return ":".join("%02x" % b for b in mac)


def ip_bytes(text):
    return socket.inet_aton(text)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def mss_option(mss):
    return struct.pack("!BBH", 2, 4, mss)


def tcp_segment(src, dst, sport, dport, seq, ack, flags, window, payload=b"", options=b"",
                bad_checksum=False):
    options += b"\0" * (-len(options) % 4)
    offset = (20 + len(options)) // 4
    header = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                         offset << 4, flags, window, 0, 0) + options
    pseudo = ip_bytes(src) + ip_bytes(dst) + struct.pack("!BBH", 0, 6,
                                                         len(header) + len(payload))
    csum = checksum(pseudo + header + payload)
    if bad_checksum:
        csum ^= 0x5A5A
    return header[:16] + struct.pack("!H", csum) + header[18:] + payload


def ip_packet(src, dst, body, protocol=6, bad_checksum=False, ident=0):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), ident, 0x4000, 64, protocol,
                         0, ip_bytes(src), ip_bytes(dst))
    csum = checksum(header)
    if bad_checksum:
        csum ^= 0x1111
    return header[:10] + struct.pack("!H", csum) + header[12:] + body


class Segment:
    """A TCP segment the guest sent."""

    def __init__(self, src, dst, sport, dport, seq, ack, flags, window, payload, options):
        self.src, self.dst, self.sport, self.dport = src, dst, sport, dport
        self.seq, self.ack, self.flags, self.window = seq, ack, flags, window
        self.payload, self.options = payload, options

    def has(self, flags):
        return self.flags & flags == flags

    def __repr__(self):
        names = "".join(n for bit, n in ((SYN, "S"), (ACK, "A"), (FIN, "F"), (RST, "R"),
                                         (PSH, "P")) if self.flags & bit)
        return "<%s:%d %s seq=%d ack=%d win=%d len=%d>" % (
            self.src, self.sport, names, self.seq, self.ack, self.window, len(self.payload))


class Link:
    """The host end of the tap: frames out, segments in, ARP for peers."""

    def __init__(self, ifname, guest_ip, peer_prefix):
        self.ifname, self.guest_ip = ifname, guest_ip
        self.peer_prefix = peer_prefix  # e.g. "10.77." : every such address but ours is a peer
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((ifname, 0))
        self.sock.settimeout(0.2)
        self.host_ips = set()
        self.guest_mac = None
        self.conns = {}  # (peer ip, peer port) -> Conn
        self.lock = threading.Lock()
        self.unclaimed = 0  # segments from the guest for no Conn (e.g. SYN-ACKs of a flood)
        self.syn_acks = collections.Counter()  # peer ip -> SYN-ACKs the guest sent it
        self.arp_answered = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._receive, daemon=True)
        self.thread.start()

    def close(self):
        self.stopping = True
        self.thread.join()
        self.sock.close()

    def is_peer(self, ip):
        return ip.startswith(self.peer_prefix) and ip != self.guest_ip and ip not in self.host_ips

    def resolve_guest(self, host_ip, timeout=10):
        """Learns the guest's MAC by asking for it from `host_ip` (the tap's own address)."""
        self.host_ips.add(host_ip)
        deadline = time.monotonic() + timeout
        while self.guest_mac is None and time.monotonic() < deadline:
            request = struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, 1, PEER_MAC,
                                  ip_bytes(host_ip), b"\0" * 6, ip_bytes(self.guest_ip))
            self._send_frame(b"\xff" * 6, ETH_P_ARP, request)
            time.sleep(0.2)
        if self.guest_mac is None:
            raise RuntimeError("the guest at %s does not answer ARP" % self.guest_ip)
        return self.guest_mac

    def _send_frame(self, dst_mac, ethertype, body):
        self.sock.send(dst_mac + PEER_MAC + struct.pack("!H", ethertype) + body)

    def send_ip(self, src, body, protocol=6, bad_ip_checksum=False):
        self._send_frame(self.guest_mac, ETH_P_IP,
                         ip_packet(src, self.guest_ip, body, protocol, bad_ip_checksum,
                                   ident=random.getrandbits(16)))

    def send_tcp(self, src, sport, dport, seq, ack, flags, window=65535, payload=b"",
                 options=b"", bad_checksum=False, bad_ip_checksum=False):
        segment = tcp_segment(src, self.guest_ip, sport, dport, seq, ack, flags, window, payload,
                              options, bad_checksum)
        self.send_ip(src, segment, bad_ip_checksum=bad_ip_checksum)

    def register(self, conn):
        with self.lock:
            self.conns[(conn.ip, conn.port)] = conn

    def unregister(self, conn):
        with self.lock:
            self.conns.pop((conn.ip, conn.port), None)

    def _receive(self):
        while not self.stopping:
            try:
                frame, address = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if address[2] == PACKET_OUTGOING or len(frame) < 14:
                continue
            ethertype = struct.unpack("!H", frame[12:14])[0]
            if ethertype == ETH_P_ARP:
                self._arp(frame[14:])
            elif ethertype == ETH_P_IP:
                self._ip(frame[14:])

    def _arp(self, body):
        if len(body) < 28:
            return
        op, sha, spa, _tha, tpa = struct.unpack("!6xH6s4s6s4s", body[:28])
        sender, target = socket.inet_ntoa(spa), socket.inet_ntoa(tpa)
        if sender == self.guest_ip:
            self.guest_mac = sha
        if op == 1 and sender == self.guest_ip and self.is_peer(target):
            reply = struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, 2, PEER_MAC, tpa, sha, spa)
            self._send_frame(sha, ETH_P_ARP, reply)
            self.arp_answered += 1

    def _ip(self, packet):
        if len(packet) < 40 or packet[9] != 6:
            return
        header_len = (packet[0] & 0xF) * 4
        total = struct.unpack("!H", packet[2:4])[0]
        src, dst = socket.inet_ntoa(packet[12:16]), socket.inet_ntoa(packet[16:20])
        if src != self.guest_ip or not self.is_peer(dst):
            return
        tcp = packet[header_len:total]
        sport, dport, seq, ack, offset, flags, window = struct.unpack("!HHIIBBH", tcp[:16])
        data_at = (offset >> 4) * 4
        segment = Segment(src, dst, sport, dport, seq, ack, flags, window, tcp[data_at:],
                          tcp[20:data_at])
        with self.lock:
            conn = self.conns.get((dst, dport))
            if segment.has(SYN | ACK):
                self.syn_acks[dst] += 1
        if conn is None:
            self.unclaimed += 1
        else:
            conn._arrived(segment)


def option_mss(options):
    """The MSS option's value in a SYN's options, or None."""
    i = 0
    while i < len(options):
        kind = options[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(options):
            break
        length = options[i + 1]
        if kind == 2 and length == 4:
            return struct.unpack("!H", options[i + 2:i + 4])[0]
        i += max(length, 2)
    return None


class Conn:
    """One hand-driven TCP connection from (ip, port) to the guest's `dport`."""

    def __init__(self, link, ip, port, dport=80, isn=None, window=65535):
        self.link, self.ip, self.port, self.dport = link, ip, port, dport
        self.isn = random.getrandbits(32) if isn is None else isn & 0xFFFFFFFF
        self.snd_nxt = self.isn
        self.rcv_nxt = None  # set by the SYN-ACK
        self.window = window
        self.segments = []  # everything the guest sent us, in arrival order
        self.data = bytearray()  # in-order payload received (reader mode)
        self.fin_received = False
        self.reset_received = False
        self.reader = False  # acknowledge in-order data as it arrives
        self.zero_window = False  # answer everything with a zero window
        self.peer_mss = None
        self.cond = threading.Condition()
        link.register(self)

    def close(self):
        """Resets the connection (unless the guest did) and forgets it: a
        connection left half-closed would keep a PCB on the guest for a
        minute (the guest's FIN unacknowledged), past a test's baseline."""
        if not self.reset_received and self.rcv_nxt is not None:
            self.send(RST | ACK, seq=self.snd_nxt)
        self.link.unregister(self)

    def send(self, flags, payload=b"", seq=None, ack=None, window=None, options=b"", **kw):
        self.link.send_tcp(self.ip, self.port, self.dport,
                           self.snd_nxt if seq is None else seq,
                           (self.rcv_nxt or 0) if ack is None else ack, flags,
                           self.window if window is None else window, payload, options, **kw)

    def wait(self, predicate, timeout=10):
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self), timeout)

    def connect(self, options=b"", timeout=10, ack=True):
        """The three-way handshake; False if no SYN-ACK came."""
        self.send(SYN, seq=self.isn, ack=0, options=options)
        if not self.wait(lambda c: c.rcv_nxt is not None, timeout):
            return False
        self.snd_nxt = (self.isn + 1) & 0xFFFFFFFF
        if ack:
            self.send(ACK)
        return True

    def send_data(self, payload, flags=PSH | ACK):
        self.send(flags, payload)
        self.snd_nxt = (self.snd_nxt + len(payload)) & 0xFFFFFFFF

    def read_response(self, timeout=30):
        """Reader mode until the guest closes or a whole response
        (Content-Length) arrived; returns (status, body) or raises."""
        self.reader = True
        self._ack_now()

        def complete(c):
            if c.fin_received or c.reset_received:
                return True
            head, sep, body = bytes(c.data).partition(b"\r\n\r\n")
            if not sep:
                return False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    return len(body) >= int(value)
            return False
        if not self.wait(complete, timeout):
            raise AssertionError("no whole response from the guest in %gs: %d bytes so far"
                                 % (timeout, len(self.data)))
        head, _, body = bytes(self.data).partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 "):
            raise AssertionError("not a response: %r" % bytes(self.data[:80]))
        return int(head[9:12]), body

    def _ack_now(self):
        if self.rcv_nxt is not None:
            self.send(ACK, window=0 if self.zero_window else None)

    def _arrived(self, segment):
        reply = None
        with self.cond:
            self.segments.append(segment)
            if segment.has(RST):
                self.reset_received = True
            elif segment.has(SYN | ACK) and self.rcv_nxt is None:
                self.rcv_nxt = (segment.seq + 1) & 0xFFFFFFFF
                self.peer_mss = option_mss(segment.options)
            elif self.rcv_nxt is not None:
                if segment.seq == self.rcv_nxt and (segment.payload or segment.has(FIN)):
                    if self.reader and not self.zero_window:
                        self.data += segment.payload
                        self.rcv_nxt = (self.rcv_nxt + len(segment.payload)) & 0xFFFFFFFF
                        if segment.has(FIN):
                            self.rcv_nxt = (self.rcv_nxt + 1) & 0xFFFFFFFF
                            self.fin_received = True
                        reply = ACK
                    elif segment.has(FIN) and not segment.payload:
                        self.fin_received = True
                if self.zero_window and (segment.payload or segment.has(FIN)):
                    reply = ACK  # a probe or more data: the window is still shut
                elif self.reader and segment.payload and reply is None:
                    reply = ACK  # out of order or a retransmission: repeat where we are
            self.cond.notify_all()
        if reply is not None:
            self.send(reply, window=0 if self.zero_window else None)
