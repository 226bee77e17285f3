// Live events of the panel: the SSE stream (the browser resumes it with Last-Event-ID), and
// polling of /events when the stream cannot be used (blocked by a proxy, refused, or failing
// again and again). `onEvent(type, data)` gets every event once; `onState(state)` says how
// the panel is connected ("stream", "poll", "lost"); `onResync()` asks the panel to reload
// what it shows (after a gap that events cannot fill).
import { API } from "./api.js";

const TYPES = ["message.created", "messages.seen", "typing.changed", "conversation.changed"];
const FAILURES_BEFORE_POLLING = 3;
const POLL_MS = 2000;
// While polling, the stream is tried again this often.
const STREAM_RETRY_MS = 30000;

export class Live {
  constructor({ onEvent, onState, onResync }) {
    this.onEvent = onEvent;
    this.onState = onState || (() => {});
    this.onResync = onResync || (() => {});
    this.lastId = null;
    this.failures = 0;
    this.source = null;
    this.polling = false;
    this.pollRuns = 0;
    this.seen = new Set();
  }

  start() {
    if (typeof EventSource === "undefined") {
      this.poll();
      return;
    }
    this.openStream();
  }

  // The stream, resumed after the last event seen (the browser's own reconnects send
  // Last-Event-ID; a new EventSource cannot, hence the query). While polling, a retry that
  // fails before it opens only closes again: polling goes on.
  openStream() {
    const query = this.lastId === null ? "" : `?last_event_id=${encodeURIComponent(this.lastId)}`;
    const source = new EventSource(`${API}/stream/${query}`, { withCredentials: true });
    this.source = source;
    let opened = false;
    source.addEventListener("open", () => {
      opened = true;
      this.failures = 0;
      this.polling = false; // a poll loop still running stops at its next turn
      this.onState("stream");
    });
    for (const type of TYPES) {
      source.addEventListener(type, (event) => this.deliver(event.lastEventId, type, event.data));
    }
    source.addEventListener("error", () => {
      if (!opened && this.polling) {
        source.close();
        this.source = null;
        return;
      }
      this.failures += 1;
      // CLOSED: the server refused the stream (not an event stream, an error status): the
      // browser will not retry; CONNECTING: it retries, but not for ever.
      if (source.readyState === EventSource.CLOSED || this.failures >= FAILURES_BEFORE_POLLING) {
        source.close();
        this.source = null;
        this.poll();
      } else {
        this.onState("lost");
      }
    });
  }

  deliver(id, type, raw) {
    if (id) {
      if (this.seen.has(id)) return;
      this.seen.add(id);
      if (this.seen.size > 2000) this.seen = new Set([...this.seen].slice(-1000));
      this.lastId = id;
    }
    let data;
    try { data = typeof raw === "string" ? JSON.parse(raw) : raw; } catch { return; }
    this.onEvent(type, data);
  }

  async poll() {
    if (this.polling) return;
    this.polling = true;
    this.onState("poll");
    if (this.lastId === null) this.onResync(); // events before the head are not fetched
    const run = ++this.pollRuns; // a loop left sleeping by an earlier switch never resumes
    let nextStreamTry = Date.now() + STREAM_RETRY_MS;
    while (this.polling && run === this.pollRuns) {
      if (Date.now() >= nextStreamTry && this.source === null && typeof EventSource !== "undefined") {
        nextStreamTry = Date.now() + STREAM_RETRY_MS;
        this.openStream(); // back to the stream once it works again (a proxy fixed, a restart)
      }
      try {
        const query = this.lastId === null ? "" : `?after=${encodeURIComponent(this.lastId)}`;
        const response = await fetch(`${API}/events${query}`, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        if (response.status === 401) {
          window.location.assign("/messenger/login");
          return;
        }
        if (!this.polling) break; // the stream took over while this request was out
        if (response.status === 400) {
          this.lastId = null; // the id is no longer known to the server: start over
          this.onResync();
        } else if (response.ok) {
          const page = await response.json();
          for (const event of page.events) this.deliver(event.id, event.type, event.data);
          if (!this.polling) break; // the stream opened while this page was read: it says so
          this.lastId = page.last_event_id;
          this.onState("poll");
          if (page.events.length >= 500) continue;
        } else {
          this.onState("lost");
        }
      } catch {
        if (this.polling) this.onState("lost");
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}
