import type { Change, TimelineHost } from "./timeline.js";

/** Closer than this to the bottom counts as reading the newest messages. */
const NEAR_BOTTOM_PX = 48;

interface Captured {
  atBottom: boolean;
  top: number;
  height: number;
}

/** Where a conversation was scrolled to when the reader left it. */
export interface SavedScroll {
  atBottom: boolean;
  top: number;
}

/**
 * Keeps the timeline's scroll position honest: it follows new messages only while the reader is
 * at the bottom, keeps older messages from pushing the view when they load above, and otherwise
 * offers a "new messages" button instead of jumping.
 */
export class ScrollKeeper implements TimelineHost {
  /** The reader is at the bottom: whatever changes size, the view stays there. */
  private stuck = true;

  /**
   * @param scroller the scrolling element
   * @param jump the "new messages" button
   * @param content the elements inside `scroller` whose size changes (the list, its header)
   */
  constructor(
    private readonly scroller: HTMLElement,
    private readonly jump: HTMLButtonElement,
    content: readonly Element[],
  ) {
    scroller.addEventListener(
      "scroll",
      () => {
        this.stuck = this.atBottom();
        if (this.stuck) this.jump.hidden = true;
      },
      { passive: true },
    );
    // Content that grows (a longer list, a wrapped line) or a scroller that shrinks (the composer
    // growing, a banner appearing) must not pull the newest messages out of view.
    const observer = new ResizeObserver(() => {
      if (this.stuck) this.toBottom();
    });
    for (const element of [scroller, ...content]) observer.observe(element);
    jump.addEventListener("click", () => {
      this.toBottom();
      jump.hidden = true;
    });
  }

  capture(): Captured {
    return { atBottom: this.atBottom(), top: this.scroller.scrollTop, height: this.scroller.scrollHeight };
  }

  settle(captured: unknown, change: Change): void {
    const before = captured as Captured;
    switch (change) {
      case "own":
      case "reset":
        this.toBottom();
        return;
      case "older":
        // What was on screen stays on screen: move down by exactly what was added above.
        this.scroller.scrollTop = before.top + (this.scroller.scrollHeight - before.height);
        this.stuck = false;
        return;
      case "incoming":
      case "quiet":
        if (before.atBottom) this.toBottom();
        else if (change === "incoming") this.jump.hidden = false;
        return;
    }
  }

  save(): SavedScroll {
    return { atBottom: this.atBottom(), top: this.scroller.scrollTop };
  }

  restore(saved: SavedScroll | undefined): void {
    this.jump.hidden = true;
    if (!saved || saved.atBottom) this.toBottom();
    else {
      this.scroller.scrollTop = saved.top;
      this.stuck = false;
    }
  }

  toBottom(): void {
    this.stuck = true;
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  atBottom(): boolean {
    const { scrollTop, scrollHeight, clientHeight } = this.scroller;
    return scrollHeight - scrollTop - clientHeight <= NEAR_BOTTOM_PX;
  }
}
