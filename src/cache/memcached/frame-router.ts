/** Routes the answers to single frames of multi-store and multi-get requests to the pass that sent them. */
import type { Response as MemjsResponse } from 'memjs';

/** Opaques [first, end) of a request in flight, whose answers memjs has no callback for. */
export interface Route {
  first: number;
  end: number;
  onFrame: (response: MemjsResponse) => void;
}

/**
 * Per server: hands the answers to individual frames of multi-store and multi-get requests to their
 * pass. memjs keeps one callback per opaque and drops answers it has none for; registering one per
 * frame would cost a callback entry (and memjs' timeout bookkeeping) per entry stored or read.
 */
export class FrameRouter {
  private routes: Route[] = [];

  add(route: Route): void {
    this.routes.push(route);
  }

  remove(route: Route): void {
    const i = this.routes.indexOf(route);
    if (i >= 0) this.routes.splice(i, 1);
  }

  clear(): void {
    this.routes = [];
  }

  /** True when the answer belonged to a frame of a request in flight. */
  dispatch(response: MemjsResponse): boolean {
    const opaque = response.header.opaque;
    // Answers come in request order: the oldest request in flight is nearly always the one.
    for (const route of this.routes) {
      if (opaque >= route.first && opaque < route.end) {
        route.onFrame(response);
        return true;
      }
    }
    return false;
  }
}
