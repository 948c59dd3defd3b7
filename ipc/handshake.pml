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
 * Variants (cpp macros, `spin -DNAME -a`):
 *   NO_RECHECK          the consumer announces and sleeps without re-checking
 *   WAKE_WITHOUT_CLAIM  a producer wakes without setting the word to running
 * Both must fail; ipc/handshake_spin_test.sh checks that they do.
 */

#define NPROD 2
#define NMSG 3

byte tail[NPROD];  /* ring tails: written by producer p only */
byte word = 0;     /* WakeWord.state: 0 = running, 1 = halt announced */
bool asleep = false;

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

proctype Consumer() {
  byte head[NPROD];
  byte q;
  byte total = 0;
  bool found;
  do
  :: total == NPROD * NMSG -> break
  :: else ->
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
        word = 1;                 /* announce; then the (SC) fence */
#ifndef NO_RECHECK
        for (q : 0 .. NPROD - 1) {
          if :: tail[q] > head[q] -> found = true :: else -> skip fi
        }
#endif
        if
        :: found -> word = 0      /* cancel */
        :: else ->
           /* futex_wait(word, 1) / cli; check; sti;hlt */
           atomic { if :: word == 1 -> asleep = true :: else -> skip fi };
           !asleep;
           word = 0
        fi
     fi
  od;
  assert(total == NPROD * NMSG)
}

init {
  atomic {
    run Producer(0);
    run Producer(1);
    run Consumer()
  }
}
