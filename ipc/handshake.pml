/*
 * The sleep/wake handshake of ipc/wake.h as a Promela model for Spin.
 *
 * Spin explores every interleaving under sequential consistency, so this
 * model checks the protocol's logic (announce, re-check, claim, wake);
 * the store-buffer effects that make the two fences necessary are covered
 * by ipc/handshake_model_test.cc (x86-TSO). A consumer that sleeps forever
 * with a message in a ring blocks at `!asleep`, which Spin reports as an
 * invalid end state.
 *
 * Interrupts: up to NINT interrupts (timer, device, wake IPI) are taken on
 * the consumer's core between any two of its statements (in the drain,
 * between ArmDeadline and the announce, between the announce and the
 * re-check, between the re-check and the halt) and while it is halted,
 * which they end. The handler sets `pending` (an event the loop must see)
 * and word = 0 (Scheduler::InterruptWake); it is atomic with respect to the
 * consumer, whose core it runs on. The consumer clears `pending` at the start
 * of every pass, before it looks for work, and re-checks it after the rings.
 * The re-check never finds an interrupt's work in the rings (a timer may fire
 * before the clock says its deadline passed). `unseen` is a ghost: set by an
 * interrupt, cleared when a pass starts. Sleeping forever is correct only
 * once every message is in, no interrupt can come and none is unseen; a
 * consumer asleep otherwise blocks at `!asleep`: an invalid end state.
 *
 * Variants (cpp macros, `spin -DNAME -a`):
 *   NO_RECHECK           the consumer announces and sleeps without
 *                        re-checking
 *   WAKE_WITHOUT_CLAIM   a producer wakes without setting the word to running
 *   OLD_INTERRUPT_ORDER  an interrupt sets only word = 0 and the re-check
 *                        looks only at the rings (no pending flag): an
 *                        interrupt between ArmDeadline and the announce is
 *                        overwritten by the announce
 * All must fail; ipc/handshake_spin_test.sh checks that they do.
 * -DNINT=n sets the number of interrupts (default 2; 0 = none).
 */

#define NPROD 2
#define NMSG 3
#ifndef NINT
#define NINT 2
#endif

byte tail[NPROD];  /* ring tails: written by producer p only */
byte word = 0;     /* WakeWord.state: 0 = running, 1 = halt announced */
bool asleep = false;
bool pending = false;          /* core-local: an interrupt since the pass */
bool unseen = false;           /* ghost: an interrupt no pass started after */
bool interrupts_over = false;  /* no more interrupts will be taken */
byte total = 0;                /* messages the consumer received */

#define QUIET (total == NPROD * NMSG && interrupts_over && !unseen)

/* Seam: Wake() ends a sleep in progress, if any. */
inline wake() {
  atomic { if :: asleep -> asleep = false :: else -> skip fi }
}

proctype Producer(byte p) {
  byte i;
  for (i : 1 .. NMSG) {
    tail[p] = i;                  /* publish; then the (SC) fence */
#ifdef WAKE_WITHOUT_CLAIM
    if :: word == 1 -> wake() :: else -> skip fi
#else
    if
    :: word == 1 ->
       if
       :: atomic { word == 1 -> word = 0 }; wake()  /* exchange claimed it */
       :: atomic { word != 1 -> skip }              /* someone else did */
       fi
    :: else -> skip               /* consumer running: suppressed */
    fi
#endif
  }
}

/* Interrupts on the consumer's core: any number up to NINT, at any time. */
proctype Interrupts() {
  byte n = 0;
  do
  :: n < NINT ->
     atomic {
#ifndef OLD_INTERRUPT_ORDER
       pending = true;
#endif
       word = 0;                  /* InterruptWake */
       asleep = false;            /* ends a halt (or the one about to start) */
       unseen = true;
       n++
     }
  :: break
  od;
  interrupts_over = true
}

proctype Consumer() {
  byte head[NPROD];
  byte q;
  bool found;
  do
  :: QUIET -> break               /* idle for good, and rightly */
  :: else ->
     atomic {                     /* a pass starts, before it looks */
#ifndef OLD_INTERRUPT_ORDER
       pending = false;
#endif
       unseen = false
     };
     found = false;
     for (q : 0 .. NPROD - 1) {   /* drain: one item per ring per pass */
       if
       :: tail[q] > head[q] -> head[q]++; total++; found = true
       :: else -> skip
       fi
     }
     if
     :: found -> skip
     :: else ->
        /* ArmDeadline here: returns early if already armed */
        word = 1;                 /* announce; then the (SC) fence */
#ifndef NO_RECHECK
        for (q : 0 .. NPROD - 1) {
          if :: tail[q] > head[q] -> found = true :: else -> skip fi
        }
#ifndef OLD_INTERRUPT_ORDER
        if :: pending -> found = true :: else -> skip fi;
#endif
#endif
        if
        :: found -> word = 0      /* cancel */
        :: else ->
           /* futex_wait(word, 1) / cli; check; sti;hlt */
           atomic { if :: word == 1 -> asleep = true :: else -> skip fi };
           !asleep || QUIET;      /* QUIET: asleep for good, and rightly */
           if
           :: !asleep -> word = 0
           :: else -> break
           fi
        fi
     fi
  od;
  assert(total == NPROD * NMSG && !unseen)
}

init {
  atomic {
    run Producer(0);
    run Producer(1);
    run Interrupts();
    run Consumer()
  }
}
