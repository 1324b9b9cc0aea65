// cometd.js: a small Bayeux client for the Streaming API (long polling), with the
// replay extension. One session subscribes to a set of channels; messages are handed to
// `onMessage`. It follows the server's advice (retry, handshake, none; interval and
// timeout); after a lost session (`403::Unknown client`) it handshakes again and
// resubscribes each channel after the last replay id it saw, so nothing is missed.

const BACKOFF_MAX_MS = 30000;

export class Bayeux {
  /**
   * @param {{url: string, token: () => string, onMessage: (m) => void,
   *          onState?: (state: string, detail?: string) => void,
   *          onAuthFailed?: () => Promise<boolean>}} opts
   */
  constructor({ url, token, onMessage, onState = () => {}, onAuthFailed = async () => false }) {
    this.url = url;
    this.token = token;
    this.onMessage = onMessage;
    this.onState = onState;
    this.onAuthFailed = onAuthFailed;
    this.clientId = null;
    this.advice = { reconnect: 'retry', interval: 0, timeout: 110000 };
    this.replay = new Map(); // channel -> replay id to subscribe from
    this.nextId = 1;
    this.running = false;
    this.abort = null;
    this.failures = 0;
    this.generation = 0;
    this.subscribed = new Map(); // channel -> error text or '' when subscribed
  }

  /** Starts a session subscribed to `channels` (a Map of channel -> replay option). */
  start(channels) {
    this.stop();
    this.replay = new Map(channels);
    this.subscribed = new Map();
    this.running = true;
    this.failures = 0;
    const gen = ++this.generation;
    this.loop(gen);
  }

  /** Ends the session (tells the server, without waiting). */
  stop() {
    this.generation += 1;
    if (this.running && this.clientId) {
      const msg = [{ channel: '/meta/disconnect', clientId: this.clientId, id: String(this.nextId++) }];
      fetch(this.url, {
        method: 'POST', keepalive: true, body: JSON.stringify(msg),
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.token()}` },
      }).catch(() => {});
    }
    this.running = false;
    this.clientId = null;
    this.abort?.abort();
    this.abort = null;
  }

  async post(messages, timeoutMs) {
    this.abort = new AbortController();
    const timer = setTimeout(() => this.abort?.abort(), timeoutMs);
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.token()}` },
        body: JSON.stringify(messages.map((m) => ({ ...m, id: String(this.nextId++) }))),
        signal: this.abort.signal,
        cache: 'no-store',
      });
      const text = await res.text();
      if (res.status === 401) throw Object.assign(new Error('401::Authentication invalid'), { auth: true });
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
      return JSON.parse(text);
    } finally {
      clearTimeout(timer);
    }
  }

  async handshake() {
    const [reply] = await this.post([{
      channel: '/meta/handshake', version: '1.0', minimumVersion: '1.0',
      supportedConnectionTypes: ['long-polling'], ext: { replay: true },
    }], 30000);
    if (!reply?.successful) throw Object.assign(new Error(reply?.error || 'handshake failed'), { advice: reply?.advice });
    this.clientId = reply.clientId;
    if (reply.advice) this.advice = { ...this.advice, ...reply.advice };
  }

  async subscribe() {
    const channels = [...this.replay.keys()];
    if (!channels.length) return;
    const replies = await this.post(channels.map((c) => ({
      channel: '/meta/subscribe', clientId: this.clientId, subscription: c,
      ext: { replay: { [c]: this.replay.get(c) } },
    })), 30000);
    for (const r of replies) {
      if (r.channel !== '/meta/subscribe') { this.deliver(r); continue; }
      this.subscribed.set(r.subscription, r.successful ? '' : (r.error || 'refused'));
    }
    this.onState('subscribed', this.subscribed);
  }

  deliver(m) {
    if (m.channel?.startsWith('/meta/')) return;
    const id = m.data?.event?.replayId;
    if (typeof id === 'number' && this.replay.has(m.channel)) this.replay.set(m.channel, id);
    try {
      this.onMessage(m);
    } catch (e) {
      console.error(e);
    }
  }

  async loop(gen) {
    const alive = () => this.running && gen === this.generation;
    let needHandshake = true;
    while (alive()) {
      try {
        if (needHandshake) {
          this.onState('connecting');
          await this.handshake();
          if (!alive()) return;
          await this.subscribe();
          needHandshake = false;
        }
        if (!alive()) return;
        this.onState('connected');
        const replies = await this.post([{
          channel: '/meta/connect', clientId: this.clientId, connectionType: 'long-polling',
        }], (this.advice.timeout || 110000) + 20000);
        if (!alive()) return;
        let connect = null;
        for (const r of replies) {
          if (r.channel === '/meta/connect') connect = r;
          else this.deliver(r);
        }
        if (connect?.advice) this.advice = { ...this.advice, ...connect.advice };
        this.failures = 0;
        if (connect && !connect.successful) {
          const reconnect = connect.advice?.reconnect || (/^403/.test(connect.error || '') ? 'handshake' : 'retry');
          if (reconnect === 'none') {
            this.onState('stopped', connect.error || 'The server ended the session');
            this.running = false;
            return;
          }
          if (reconnect === 'handshake') {
            this.onState('reconnecting', connect.error || 'session lost');
            needHandshake = true;
          }
        } else if (this.advice.reconnect === 'none') {
          this.onState('stopped', 'The server advised not to reconnect');
          this.running = false;
          return;
        } else if (this.advice.reconnect === 'handshake') {
          needHandshake = true;
        }
        if (this.advice.interval > 0) await sleep(this.advice.interval);
      } catch (e) {
        if (!alive()) return;
        if (e.auth) {
          const renewed = await this.onAuthFailed().catch(() => false);
          if (!renewed) {
            this.onState('stopped', 'The token is no longer valid: sign in again');
            this.running = false;
            return;
          }
          needHandshake = true;
          continue;
        }
        this.failures += 1;
        needHandshake = needHandshake || /handshake|Unknown client|403/.test(e.message || '');
        const wait = Math.min(BACKOFF_MAX_MS, 500 * 2 ** Math.min(this.failures, 6));
        this.onState('reconnecting', `${e.name === 'AbortError' ? 'timed out' : e.message}; retrying in ${Math.round(wait / 1000)} s`);
        await sleep(wait);
        // After a network failure the session may be gone too: try it, then handshake.
        if (this.failures > 1) needHandshake = true;
      }
    }
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
