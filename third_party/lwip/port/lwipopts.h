/*
 * lwIP configuration for this project: the raw (callback) API on one
 * thread, IPv4 over Ethernet, sized for a web server holding ~512 TCP
 * connections. Every option not set here keeps lwIP's default from
 * lwip/opt.h. All memory is static (.bss): lwIP never calls malloc.
 *
 * Memory at these settings (nm of the kernel build): heap 8 MiB, PBUF_POOL
 * 512 x 1.5 KiB = 0.75 MiB, TCP segments 8192 x 32 B = 0.25 MiB, TCP PCBs
 * 1100 x 248 B = 0.27 MiB; about 9.3 MiB of .bss in all.
 */
#ifndef UK_LWIP_LWIPOPTS_H_
#define UK_LWIP_LWIPOPTS_H_

/* ---- System: no OS, one thread, no locking ---- */
#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0 /* the caller serializes all lwIP calls */
/* No cyclic timer list: lwIP's would run ARP, reassembly and DHCP timers
 * several times a second forever. Its user calls tcp_fasttmr() and
 * tcp_slowtmr() (as tcp_tmr() would, keeping tcp_ticks in step with the
 * clock), etharp_tmr(), ip_reass_tmr() and the DHCP timers only while they
 * have work (services/net/net_timers.h), so an idle core is not woken. */
#define LWIP_TIMERS 0
#define LWIP_NETCONN 0
#define LWIP_SOCKET 0
#define LWIP_NETIF_API 0

/* ---- Memory ---- */
#define MEM_ALIGNMENT 8
#define MEM_LIBC_MALLOC 0 /* lwIP's own heap in a static array */
#define MEMP_MEM_MALLOC 0 /* pools are static arrays too */
/*
 * The heap holds PBUF_RAM buffers: everything tcp_write() copies (the send
 * buffers of all connections together), outgoing UDP and ARP, DHCP state.
 * 8 MiB fills 128 send buffers of 64 KiB; a web server's connections are
 * mostly idle or short, and tcp_write() returns ERR_MEM when it is full.
 */
#define MEM_SIZE (8 * 1024 * 1024)
/* PBUF_REF/ROM: one per segment (or part of one) that tcp_write() queued by
 * reference, without COPY (services/net/sockets.h): a 64 KiB response sent
 * from the file cache takes about 45. Each costs a pbuf struct (~32 bytes). */
#define MEMP_NUM_PBUF 4096
#define MEMP_NUM_UDP_PCB 16
/* One PCB per connection, TIME-WAIT ones included (lwIP reclaims the oldest
 * of those when the pool runs out): as many as the net service's socket
 * table (services/net/sockets.h, 1,024) plus room for closing ones. */
#define MEMP_NUM_TCP_PCB 1100
#define MEMP_NUM_TCP_PCB_LISTEN 16
/*
 * One tcp_seg per queued segment, unsent, unacked or out of order, over all
 * connections. Must be at least TCP_SND_QUEUELEN (checked by init.c).
 */
#define MEMP_NUM_TCP_SEG 8192
/* Datagrams being reassembled, and the fragments they may hold in all. */
#define MEMP_NUM_REASSDATA 16
#define IP_REASS_MAX_PBUFS 64
#define MEMP_NUM_ARP_QUEUE 64
/* Receive buffers: the driver allocates PBUF_POOL pbufs for frames. */
#define PBUF_POOL_SIZE 512

/* ---- Link layer and IPv4 ---- */
#define LWIP_ETHERNET 1
#define LWIP_ARP 1
#define ARP_TABLE_SIZE 32
#define ARP_QUEUEING 1
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define IP_REASSEMBLY 1
#define IP_FRAG 1
#define LWIP_ICMP 1
#define LWIP_RAW 0
#define LWIP_IGMP 0
#define LWIP_AUTOIP 0
#define LWIP_DNS 0
#define LWIP_UDP 1
#define LWIP_DHCP 1
/*
 * No ARP probe of the offered address before binding: it delays the first
 * usable address by about a second, and the DHCP servers this runs behind
 * (QEMU's user networking, a host bridge) hand out addresses they own.
 */
#define DHCP_DOES_ARP_CHECK 0
#define LWIP_NETIF_STATUS_CALLBACK 1 /* told when DHCP binds an address */
#define LWIP_NETIF_LINK_CALLBACK 1

/* ---- TCP ---- */
#define LWIP_TCP 1
#define TCP_MSS 1460 /* Ethernet MTU 1500 - 20 IP - 20 TCP */
/* No oversized copy buffers: with them, tcp_write() fills the room left in
 * the last queued segment by copying, even when asked not to copy, so the
 * first MSS of a file sent by reference right after its copied response
 * head would be copied after all. Without, that data is chained to the
 * head's segment as a reference (one frame, two gather parts). */
#define TCP_OVERSIZE 0
/*
 * No window scaling: the window and the send buffer stay under 64 KiB.
 * Received data waits in one pbuf chain per connection until the
 * application reads it (services/net/sockets.h), and a chain's tot_len is
 * 16 bits, so unread data must fit: it does, since the window only reopens
 * (tcp_recved) as the application reads. 44 segments of 1460 B.
 */
#define LWIP_WND_SCALE 0
#define TCP_WND (44 * TCP_MSS)
/*
 * Send a window update once the application has consumed 4 segments: a
 * sender that filled the window waits at most that long, and a stream of
 * small reads does not cost one ACK each.
 */
#define TCP_WND_UPDATE_THRESHOLD (4 * TCP_MSS)
#define TCP_SND_BUF (44 * TCP_MSS)
/* Pbufs per connection's send queue. A segment queued by reference takes a
 * header pbuf and one per run of referenced bytes it spans (two at most at
 * the 536-byte floor on segment size, services/net/sockets.h, with runs of
 * 1 KiB or more), plus the copied response head: so a whole send buffer of
 * the smallest segments fits, and the queue never fills before the send
 * buffer does. A queue that filled first would leave a short segment at its
 * tail, which goes out before later writes could fill it. */
#define TCP_SND_QUEUELEN (3 * (TCP_SND_BUF / 536 + 1) + 8)
#define TCP_QUEUE_OOSEQ 1
/*
 * Out-of-order segments held per connection (tcp_receive() drops the rest,
 * the sender retransmits them). Each held segment keeps a whole PBUF_POOL
 * buffer however small it is, so the count is the bound that matters: one
 * connection sending 1-byte segments above a gap holds at most 16 of the
 * 512 receive buffers instead of all of them. 16 full segments also bound
 * the bytes. No SACK (LWIP_TCP_SACK_OUT): the caps do not need it. Many
 * connections together are bounded by the net service, which frees
 * out-of-order queues (pbuf_free_ooseq) when the pool runs low
 * (services/net/net_service.cc, docs/net.md "Hostile peers").
 */
/*
 * In-order data also keeps its pool buffers until the application reads it,
 * and the window bounds that per connection (44 segments), not across
 * connections: a dozen clients whose data nobody reads would take the pool.
 * So before lwIP accepts (and acknowledges) a data segment, the net service
 * may refuse it: when the pool is down to its reserve and the connection
 * already holds unread data (services/net/overload.h). The segment is
 * dropped unacknowledged and its sender retransmits it later.
 *
 * Weak, so that a program linking lwIP without the net service (lwIP's own
 * tests) links; then every segment is taken, as without the hook.
 */
#ifdef __cplusplus
extern "C" {
#endif
struct tcp_pcb;
struct pbuf;
int uk_net_admit_tcp_segment(const struct tcp_pcb* pcb, const struct pbuf* p)
    __attribute__((weak));
#ifdef __cplusplus
}
#endif
#define LWIP_HOOK_TCP_INPACKET_PCB(pcb, hdr, optlen, opt1len, opt2, p) \
  (uk_net_admit_tcp_segment != 0 ? uk_net_admit_tcp_segment((pcb), (p)) : 0)
/*
 * Initial sequence numbers as RFC 6528 asks (services/net/tcp_isn.h): a
 * keyed hash of the 4-tuple plus a 4 us clock. lwIP's own is a counter an
 * off-path peer can predict. Weak like the hook above: lwIP's own tests,
 * which link no net service, get LWIP_RAND().
 */
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
struct ip4_addr;
uint32_t uk_net_tcp_isn(const struct ip4_addr* local_ip, uint16_t local_port,
                        const struct ip4_addr* remote_ip, uint16_t remote_port)
    __attribute__((weak));
#ifdef __cplusplus
}
#endif
#define LWIP_HOOK_TCP_ISN(local_ip, local_port, remote_ip, remote_port)                     \
  (uk_net_tcp_isn != 0 ? uk_net_tcp_isn((local_ip), (local_port), (remote_ip), (remote_port)) \
                       : LWIP_RAND())
#define TCP_OOSEQ_MAX_PBUFS 16
#define TCP_OOSEQ_MAX_BYTES (16 * TCP_MSS)
#define TCP_LISTEN_BACKLOG 1
#define TCP_DEFAULT_LISTEN_BACKLOG 255
#define LWIP_TCP_KEEPALIVE 1 /* per-PCB keep_idle/keep_intvl/keep_cnt */
/*
 * TIME-WAIT lasts 2 x TCP_MSL: 60 s here, as in Linux (TCP_TIMEWAIT_LEN) and
 * FreeBSD (net.inet.tcp.msl 30 s), instead of lwIP's 2 minutes (RFC 793's
 * MSL). A server that closes connections keeps a PCB per close for that
 * long, out of MEMP_NUM_TCP_PCB; half the time is half the PCBs held after
 * a burst. The net service runs the TCP timer once per expiry while only
 * TIME-WAIT PCBs are left (services/net/net_timers.h). LAST-ACK gives up
 * after 2 x TCP_MSL too (it usually ends sooner, on retransmission limits).
 */
#define TCP_MSL 30000UL
#define SO_REUSE 0
#define LWIP_CALLBACK_API 1

/* ---- Checksums: computed and checked in software ---- */
#define LWIP_CHKSUM_ALGORITHM 3 /* 32-bit accumulation, the fastest C variant */
/* CHECKSUM_GEN_* and CHECKSUM_CHECK_* keep their default, 1, but each netif
 * can turn them off: the net service stops generating TCP and UDP checksums
 * when the NIC offers to (virtio-net CSUM). Received checksums are always
 * checked here. */
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1

/* ---- Debugging and statistics ---- */
/*
 * Only the memory statistics: the heap (lwip_stats.mem) and each pool
 * (lwip_stats.memp[], PBUF_POOL among them) with use and high-water mark,
 * which the net service reports (NetStats, docs/net.md). A few adds per
 * allocation; the protocol counters stay off.
 */
#define LWIP_STATS 1
#define LWIP_STATS_DISPLAY 0
#define MEM_STATS 1
#define MEMP_STATS 1
#define LINK_STATS 0
#define ETHARP_STATS 0
#define IP_STATS 0
#define IPFRAG_STATS 0
#define ICMP_STATS 0
#define IGMP_STATS 0
#define UDP_STATS 0
#define TCP_STATS 0
#define SYS_STATS 0
#define MIB2_STATS 0
/* LWIP_ASSERT stays on (LWIP_NOASSERT undefined): failures call uk_lwip_assert. */

#endif /* UK_LWIP_LWIPOPTS_H_ */
