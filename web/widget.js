/*
 * Clinic aftercare chat widget.
 *
 * Embed with one tag (options as data- attributes, or as window.ClinicChatConfig set
 * before it; data- attributes win):
 *
 *   <script src="https://your-host/widget.js" defer
 *           data-server-url="https://assistant.your-clinic.example"
 *           data-clinic-name="Riverside Pain Clinic" data-emergency-number="911"
 *           data-primary-color="#0b5cad" data-lang="en"></script>
 *
 * It talks to the Rasa server's REST channel: POST /webhooks/rest/conversations once for a
 * conversation token (a secret only this browser holds), POST /webhooks/rest/webhook with
 * it, and POST /webhooks/rest/history to restore the conversation after a reload. Every string from
 * the patient or the server is put in the page with textContent or DOM APIs, never as HTML.
 * Plain JavaScript, no build step; styles in widget.css, loaded into a shadow root so the
 * host page's CSS and the widget's do not touch each other.
 */
(() => {
  "use strict";

  const script = document.currentScript;
  const VERSION = "1.0.0";

  const STRINGS = {
    en: {
      launcher: "Questions after your injection?",
      launcherShort: "Chat",
      subtitle: "Aftercare questions",
      close: "Close chat",
      startOver: "Start over",
      startedOver: "Started a new conversation.",
      notice: "General education, not medical advice. In an emergency, call {emergency} now.",
      noticeLead: "Please note:",
      suggestionsLabel: "You can ask:",
      inputLabel: "Type your question",
      placeholder: "Type your question…",
      send: "Send",
      you: "You said:",
      assistant: "Assistant:",
      typing: "The assistant is typing…",
      loading: "Loading your conversation…",
      from: "From:",
      diaryColumns: ["Time", "After the block", "Score", "Relief", "What you did"],
      diaryPrint: "Print my diary",
      diaryTitle: "Pain diary",
      diaryTableLabel: "Your pain diary table",
      emergencyTitle: "This may be an emergency",
      urgentTitle: "Please contact your care team today",
      offline: "Can't reach the assistant. Check your internet connection and try again.",
      timeout: "The assistant is taking too long to answer. Please try again.",
      rateLimited: "You've sent a lot of messages in a short time. Please wait a minute, then try again.",
      serverError: "Something went wrong on our side. Please try again.",
      historyError: "Your earlier conversation could not be loaded.",
      errorHelp: "If you need help now, call {clinic} at {phone}. In an emergency, call {emergency}.",
      errorHelpNoPhone: "If you need help now, call {clinic}. In an emergency, call {emergency}.",
      retry: "Retry",
      suggestions: [
        "How long will the numbness last?",
        "Can I drive after my injection?",
        "When will the steroid start working?",
      ],
    },
    es: {
      launcher: "¿Preguntas después de su inyección?",
      launcherShort: "Chat",
      subtitle: "Preguntas sobre el cuidado posterior",
      close: "Cerrar el chat",
      startOver: "Empezar de nuevo",
      startedOver: "Se inició una conversación nueva.",
      notice: "Información general, no consejo médico. En una emergencia, llame al {emergency} ahora.",
      noticeLead: "Aviso:",
      suggestionsLabel: "Puede preguntar (en inglés):",
      inputLabel: "Escriba su pregunta",
      placeholder: "Escriba su pregunta…",
      send: "Enviar",
      you: "Usted dijo:",
      assistant: "Asistente:",
      typing: "El asistente está escribiendo…",
      loading: "Cargando su conversación…",
      from: "Fuente:",
      diaryColumns: ["Hora", "Después del bloqueo", "Puntuación", "Alivio", "Qué hacía"],
      diaryPrint: "Imprimir mi diario",
      diaryTitle: "Diario de dolor",
      diaryTableLabel: "La tabla de su diario de dolor",
      emergencyTitle: "Esto puede ser una emergencia",
      urgentTitle: "Comuníquese hoy con su equipo médico",
      offline: "No se puede conectar con el asistente. Revise su conexión e inténtelo de nuevo.",
      timeout: "El asistente tarda demasiado en responder. Inténtelo de nuevo.",
      rateLimited: "Ha enviado muchos mensajes en poco tiempo. Espere un minuto e inténtelo de nuevo.",
      serverError: "Algo salió mal. Inténtelo de nuevo.",
      historyError: "No se pudo cargar su conversación anterior.",
      errorHelp: "Si necesita ayuda ahora, llame a {clinic} al {phone}. En una emergencia, llame al {emergency}.",
      errorHelpNoPhone: "Si necesita ayuda ahora, llame a {clinic}. En una emergencia, llame al {emergency}.",
      retry: "Reintentar",
      suggestions: [
        "How long will the numbness last?",
        "Can I drive after my injection?",
        "When will the steroid start working?",
      ],
    },
  };

  const DEFAULTS = {
    serverUrl: "http://localhost:5005",
    clinicName: "the clinic",
    clinicPhone: "",
    emergencyNumber: "911",
    primaryColor: "#0b5cad",
    lang: "",
    open: false,
    storageKey: "clinic-chat",
    stylesheet: "",
    timeoutMs: 45000,
    suggestions: null,
    strings: null,
  };

  // ---- options -------------------------------------------------------------------

  function readOptions() {
    const fromPage = (typeof window.ClinicChatConfig === "object" && window.ClinicChatConfig) || {};
    const data = (script && script.dataset) || {};
    const options = { ...DEFAULTS, ...fromPage };
    for (const key of ["serverUrl", "clinicName", "clinicPhone", "emergencyNumber", "primaryColor", "lang", "storageKey", "stylesheet"]) {
      if (data[key]) options[key] = data[key];
    }
    if (data.open) options.open = data.open === "true";
    if (data.suggestions) options.suggestions = data.suggestions.split("|").map((s) => s.trim()).filter(Boolean);
    options.serverUrl = String(options.serverUrl).replace(/\/+$/, "");
    if (!options.stylesheet) {
      const base = (script && script.src) || document.baseURI;
      options.stylesheet = new URL("widget.css", base).href;
    }
    const lang = String(options.lang || document.documentElement.lang || "en").toLowerCase();
    options.lang = STRINGS[lang] ? lang : STRINGS[lang.split("-")[0]] ? lang.split("-")[0] : "en";
    options.text = { ...STRINGS[options.lang], ...(options.strings || {}) };
    if (!Array.isArray(options.suggestions)) options.suggestions = options.text.suggestions;
    return options;
  }

  // ---- colours: pick readable text for the clinic's colour (WCAG AA, 4.5:1) ---------

  function parseHex(colour) {
    const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(colour).trim());
    if (!m) return null;
    const hex = m[1].length === 3 ? m[1].replace(/./g, "$&$&") : m[1];
    return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
  }

  function luminance(rgb) {
    const [r, g, b] = rgb.map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }

  function contrast(a, b) {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  }

  function palette(primary) {
    const rgb = parseHex(primary) || parseHex(DEFAULTS.primaryColor);
    const white = [255, 255, 255];
    const dark = [26, 26, 26];
    const hex = "#" + rgb.map((v) => v.toString(16).padStart(2, "0")).join("");
    return {
      primary: hex,
      // text on the primary colour
      onPrimary: contrast(rgb, white) >= contrast(rgb, dark) ? "#ffffff" : "#1a1a1a",
      // the primary colour used as text on white, if it is dark enough
      ink: contrast(rgb, white) >= 4.5 ? hex : "#1a1a1a",
    };
  }

  // ---- small helpers -------------------------------------------------------------

  /** A label with {placeholders} as DOM nodes: strings become text, nodes are put in as they are. */
  function fillNodes(template, values) {
    const fragment = document.createDocumentFragment();
    template.split(/(\{\w+\})/).forEach((part, index) => {
      const key = index % 2 ? part.slice(1, -1) : null;
      const value = key && key in values ? values[key] : part;
      fragment.append(typeof value === "string" ? document.createTextNode(value) : value);
    });
    return fragment;
  }

  /** A tap-to-call link for a phone number as people write it, or plain text if it has no digits. */
  function callLink(number, className) {
    const tel = `tel:${String(number).replace(/[^\d+]/g, "")}`;
    if (!TEL.test(tel)) return document.createTextNode(String(number));
    const link = el("a", className, String(number));
    telLink(link, tel);
    return link;
  }

  function telLink(link, tel) {
    // Outside the page's own browsing context: a tap hands the number to the phone, and
    // the chat stays usable when the patient comes back (in Chromium, a tel: navigation
    // of the page itself could leave the page ignoring typing until it was reloaded).
    link.href = tel;
    link.target = "_blank";
    link.rel = "noopener";
  }

  function storage(kind) {
    const memory = new Map();
    let real = null;
    try {
      real = window[kind];
      real.setItem("__clinic_chat_test", "1");
      real.removeItem("__clinic_chat_test");
    } catch {
      real = null; // private mode or blocked: the conversation lasts until the tab closes
    }
    return {
      get: (k) => (real ? real.getItem(k) : memory.get(k) ?? null),
      set: (k, v) => (real ? real.setItem(k, v) : memory.set(k, v)),
      remove: (k) => (real ? real.removeItem(k) : memory.delete(k)),
    };
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  const ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    phone:
      "M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z",
    close: "M6 6l12 12M18 6L6 18",
    warning: "M12 2 1 21h22L12 2zm0 6v7m0 2.5v1.5",
  };

  function icon(name, stroke = false) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "cc-icon");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    if (stroke) {
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", "currentColor");
      path.setAttribute("stroke-width", "2.4");
      path.setAttribute("stroke-linecap", "round");
    } else {
      path.setAttribute("fill", "currentColor");
    }
    svg.append(path);
    return svg;
  }

  const TEL = /^tel:\+?[0-9*#]{1,20}$/;
  // The reply kinds the server sends in custom.kind (chatbot/reply_kinds.py; a test keeps
  // the two lists equal). Kinds not rendered specially show as plain bot messages.
  const REPLY_KINDS = [
    "answer", "no_answer", "suggestions", "ask_procedure", "procedure_noted", "unreadable",
    "too_long", "escalation", "unavailable", "other_language", "greeting", "form_question",
    "re_ask", "form_stopped", "diary_offer", "diary_started", "diary_entry", "diary_summary",
    "callback_received", "callback_not_saved", "check", "acknowledged", "going_for_help",
  ];

  /** Safe formatting: blank lines make paragraphs, "- " lines make a list. Text only. */
  function formatText(text) {
    const fragment = document.createDocumentFragment();
    for (const block of String(text).replace(/\r\n?/g, "\n").split(/\n[ \t]*\n/)) {
      let list = null;
      let para = null;
      for (const line of block.split("\n")) {
        if (!line.trim()) continue;
        const bullet = /^\s*[-•*]\s+(.*)$/.exec(line);
        if (bullet) {
          if (!list) fragment.append((list = el("ul")));
          list.append(el("li", null, bullet[1]));
          para = null;
        } else {
          if (para) para.append(document.createElement("br"), document.createTextNode(line));
          else fragment.append((para = el("p", null, line)));
          list = null;
        }
      }
    }
    return fragment;
  }

  /**
   * Reply items (webhook or history) as messages. Rasa's REST channel sends one response as
   * several items: its text split at blank lines, then its custom payload; a text with
   * buttons comes whole. History items hold a whole response. So: text items join the open
   * message, a custom payload closes it, and a text with buttons starts a new one.
   */
  function groupMessages(items) {
    const groups = [];
    let open = null;
    for (const item of Array.isArray(items) ? items : []) {
      if (!item || typeof item !== "object") continue;
      const text = typeof item.text === "string" ? item.text.trim() : "";
      const buttons = Array.isArray(item.buttons) ? item.buttons : [];
      const custom = item.custom && typeof item.custom === "object" ? item.custom : null;
      if (item.from === "user") {
        groups.push({ from: "user", text: typeof item.text === "string" ? item.text : "" });
        open = null;
        continue;
      }
      if (text && open && !buttons.length && !open.buttons.length) {
        open.text += `\n\n${text}`;
      } else if (text || buttons.length || !open) {
        open = { from: "bot", text, buttons, custom: null };
        groups.push(open);
      }
      if (custom) {
        open.custom = custom;
        open = null;
      }
    }
    return groups;
  }

  class ChatError extends Error {
    constructor(kind, status) {
      super(kind);
      this.kind = kind;
      this.status = status;
      this.messages = []; // replies the server sent with the error (an escalation)
    }
  }

  // ---- the widget ----------------------------------------------------------------

  class ClinicChat {
    constructor(options) {
      this.o = options;
      this.t = options.text;
      this.local = storage("localStorage");
      this.session = storage("sessionStorage");
      this.idKey = `${options.storageKey}:session`;
      this.openKey = `${options.storageKey}:open`;
      // A conversation token from the server ("<id>.<signature>"); an id from an older
      // widget (no signature) cannot be used any more and starts a new conversation.
      const stored = this.local.get(this.idKey);
      this.sessionId = stored && stored.includes(".") ? stored : null;
      this.generation = 0; // replies for a conversation that was reset are dropped
      this.pending = false;
      this.build();
      if (this.sessionId) this.restore();
      else this.showSuggestions(true);
      if (options.open || this.session.get(this.openKey) === "1") this.open({ focus: false });
    }

    fillText(key) {
      return fillNodes(this.t[key], {
        clinic: this.o.clinicName,
        phone: callLink(this.o.clinicPhone, "cc-call-inline"),
        emergency: callLink(this.o.emergencyNumber, "cc-call-inline"),
      });
    }

    build() {
      const t = this.t;
      this.host = el("div");
      this.host.id = "clinic-chat";
      const colours = palette(this.o.primaryColor);
      this.host.style.setProperty("--cc-primary", colours.primary);
      this.host.style.setProperty("--cc-on-primary", colours.onPrimary);
      this.host.style.setProperty("--cc-ink", colours.ink);
      const root = this.host.attachShadow({ mode: "open" });
      this.root = root;

      const link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = this.o.stylesheet;
      const frame = el("div", "cc");
      frame.lang = this.o.lang;
      frame.hidden = true; // until styled, so nothing flashes unstyled or measures wrong
      const show = () => {
        frame.hidden = false;
        this.scrollToEnd();
      };
      link.addEventListener("load", show);
      link.addEventListener("error", show);
      root.append(link, frame);

      // Launcher
      this.launcher = el("button", "cc-launcher");
      this.launcher.type = "button";
      this.launcher.setAttribute("aria-expanded", "false");
      this.launcher.setAttribute("aria-controls", "cc-panel");
      const short = el("span", "cc-launcher-short", t.launcherShort);
      short.setAttribute("aria-hidden", "true");
      this.launcher.append(icon("chat"), el("span", "cc-launcher-long", t.launcher), short);
      this.launcher.addEventListener("click", () => (this.isOpen ? this.close() : this.open()));

      // Panel
      this.panel = el("section", "cc-panel");
      this.panel.id = "cc-panel";
      this.panel.hidden = true;
      this.panel.setAttribute("aria-labelledby", "cc-title");
      this.panel.addEventListener("keydown", (event) => {
        if (event.key === "Escape") {
          event.preventDefault();
          this.close();
        } else if (event.key === "Tab" && this.isFullScreen()) {
          this.keepFocusInside(event);
        }
      });

      const header = el("header", "cc-header");
      const titles = el("div", "cc-titles");
      const title = el("h2", "cc-title", this.o.clinicName);
      title.id = "cc-title";
      titles.append(title, el("p", "cc-subtitle", t.subtitle));
      this.resetButton = el("button", "cc-reset", t.startOver);
      this.resetButton.type = "button";
      this.resetButton.addEventListener("click", () => this.reset());
      const closeButton = el("button", "cc-close");
      closeButton.type = "button";
      closeButton.setAttribute("aria-label", t.close);
      closeButton.append(icon("close", true));
      closeButton.addEventListener("click", () => this.close());
      header.append(titles, this.resetButton, closeButton);

      this.body = el("div", "cc-body");
      const notice = el("p", "cc-notice");
      notice.setAttribute("role", "note");
      notice.append(el("strong", null, t.noticeLead + " "));
      notice.append(fillNodes(t.notice, { emergency: callLink(this.o.emergencyNumber, "cc-call-inline") }));

      this.log = el("div", "cc-log");
      this.log.setAttribute("role", "log");
      this.log.setAttribute("aria-live", "polite");
      this.log.setAttribute("aria-label", `${t.subtitle}: ${this.o.clinicName}`);

      this.suggestions = el("div", "cc-suggestions");
      this.suggestions.setAttribute("role", "group");
      const suggestionsLabel = el("p", "cc-suggestions-label", t.suggestionsLabel);
      suggestionsLabel.id = "cc-suggestions-label";
      this.suggestions.setAttribute("aria-labelledby", "cc-suggestions-label");
      this.suggestions.append(suggestionsLabel);
      for (const question of this.o.suggestions) {
        const button = el("button", "cc-chip", question);
        button.type = "button";
        button.addEventListener("click", () => this.send(question));
        this.suggestions.append(button);
      }
      this.suggestions.hidden = true;

      this.status = el("div", "cc-status");
      this.status.setAttribute("role", "status");
      this.body.append(notice, this.log, this.suggestions, this.status);

      this.form = el("form", "cc-form");
      this.form.noValidate = true;
      const label = el("label", "cc-sr", t.inputLabel);
      label.htmlFor = "cc-input";
      this.input = el("textarea", "cc-input");
      this.input.id = "cc-input";
      this.input.rows = 1;
      this.input.placeholder = t.placeholder;
      this.input.autocomplete = "off";
      this.input.setAttribute("enterkeyhint", "send");
      this.input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this.submit();
        }
      });
      this.input.addEventListener("input", () => this.autosize());
      this.sendButton = el("button", "cc-send", t.send);
      this.sendButton.type = "submit";
      this.form.append(label, this.input, this.sendButton);
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.submit();
      });

      this.panel.append(header, this.body, this.form);
      frame.append(this.panel, this.launcher);
      document.body.append(this.host);
    }

    get isOpen() {
      return !this.panel.hidden;
    }

    open({ focus = true } = {}) {
      this.panel.hidden = false;
      this.launcher.setAttribute("aria-expanded", "true");
      this.root.querySelector(".cc").classList.add("cc-is-open");
      this.session.set(this.openKey, "1");
      this.scrollToEnd();
      if (focus) this.input.focus();
    }

    isFullScreen() {
      // On a phone the panel covers the whole page (widget.css, max-width 480px).
      return this.isOpen && window.matchMedia("(max-width: 480px)").matches;
    }

    keepFocusInside(event) {
      // Full screen, the page behind is hidden: Tab must not move focus to it.
      const focusable = [...this.panel.querySelectorAll(
        'a[href], button:not([disabled]), textarea, input, [tabindex]:not([tabindex="-1"])',
      )].filter((node) => !node.hidden && node.offsetParent !== null);
      if (!focusable.length) return;
      const first = focusable[0];
      const last = focusable[focusable.length - 1];
      const active = this.root.activeElement;
      if (event.shiftKey && (active === first || !this.panel.contains(active))) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && (active === last || !this.panel.contains(active))) {
        event.preventDefault();
        first.focus();
      }
    }

    close() {
      this.panel.hidden = true;
      this.launcher.setAttribute("aria-expanded", "false");
      this.root.querySelector(".cc").classList.remove("cc-is-open");
      this.session.remove(this.openKey);
      this.launcher.focus();
    }

    autosize() {
      this.input.style.height = "auto";
      this.input.style.height = `${Math.min(this.input.scrollHeight, 140)}px`;
    }

    submit() {
      const text = this.input.value;
      if (!text.trim() || this.pending) return;
      this.input.value = "";
      this.autosize();
      this.send(text);
    }

    showSuggestions(show) {
      this.suggestions.hidden = !show;
    }

    setPending(pending, message = this.t.typing) {
      this.pending = pending;
      this.sendButton.disabled = pending;
      this.log.setAttribute("aria-busy", pending ? "true" : "false");
      this.status.replaceChildren();
      if (pending) {
        const dots = el("span", "cc-dots");
        dots.setAttribute("aria-hidden", "true");
        dots.append(el("span"), el("span"), el("span"));
        this.status.append(dots, el("span", "cc-status-text", message));
        this.status.classList.add("cc-status-on");
        this.scrollToEnd();
      } else {
        this.status.classList.remove("cc-status-on");
      }
    }

    async send(message, shown = message) {
      if (this.pending) return;
      this.clearErrors();
      this.showSuggestions(false);
      this.append([this.renderUser(shown)]);
      if (this.isOpen) this.input.focus();
      await this.deliver(message);
    }

    async conversation() {
      if (!this.sessionId) {
        const issued = await this.request("POST", "/webhooks/rest/conversations", {});
        if (!issued || typeof issued.conversation !== "string") throw new ChatError("serverError");
        this.sessionId = issued.conversation;
        this.local.set(this.idKey, this.sessionId);
      }
      return this.sessionId;
    }

    async deliver(message, retried = false) {
      const generation = this.generation;
      this.setPending(true);
      try {
        await this.conversation();
        const replies = await this.request("POST", "/webhooks/rest/webhook", { sender: this.sessionId, message });
        if (generation !== this.generation) return;
        this.append(groupMessages(replies).map((group) => this.render(group, true)).filter(Boolean));
      } catch (error) {
        if (generation !== this.generation) return;
        if (error instanceof ChatError && error.kind === "forbidden" && !retried) {
          // The server no longer knows this conversation (its key changed): start a new one.
          this.sessionId = null;
          this.local.remove(this.idKey);
          this.setPending(false);
          return this.deliver(message, true);
        }
        if (error instanceof ChatError && error.messages && error.messages.length) {
          this.append(groupMessages(error.messages).map((group) => this.render(group, true)).filter(Boolean));
        }
        this.showError(error, () => this.deliver(message));
      } finally {
        if (generation === this.generation) this.setPending(false);
      }
    }

    async restore() {
      const generation = this.generation;
      this.setPending(true, this.t.loading);
      try {
        const items = await this.request("POST", "/webhooks/rest/history", { sender: this.sessionId });
        if (generation !== this.generation) return;
        const nodes = groupMessages(items).map((group) => this.render(group, false)).filter(Boolean);
        // Restored messages are not news: keep screen readers from reading them all out.
        this.log.setAttribute("aria-live", "off");
        this.log.replaceChildren(...nodes);
        this.showSuggestions(nodes.length === 0);
        requestAnimationFrame(() => {
          this.log.setAttribute("aria-live", "polite");
          this.scrollToEnd();
        });
      } catch (error) {
        if (generation !== this.generation) return;
        if (error instanceof ChatError && error.kind === "forbidden") {
          this.sessionId = null; // an old or unknown conversation: begin a new one
          this.local.remove(this.idKey);
          this.showSuggestions(true);
          return;
        }
        this.showError(error, () => this.restore(), this.t.historyError);
      } finally {
        if (generation === this.generation) this.setPending(false);
      }
    }

    reset() {
      this.generation += 1;
      this.sessionId = null; // the next message asks the server for a new conversation
      this.local.remove(this.idKey);
      this.setPending(false);
      this.clearErrors();
      this.log.replaceChildren();
      this.showSuggestions(true);
      this.input.value = "";
      this.autosize();
      this.status.replaceChildren(el("span", "cc-sr", this.t.startedOver));
      this.body.scrollTop = 0;
      this.input.focus();
    }

    async request(method, path, body) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), this.o.timeoutMs);
      let response;
      try {
        response = await fetch(this.o.serverUrl + path, {
          method,
          headers: body ? { "Content-Type": "application/json" } : {},
          body: body ? JSON.stringify(body) : undefined,
          signal: controller.signal,
          credentials: "omit",
          cache: "no-store",
        });
      } catch (error) {
        throw new ChatError(error && error.name === "AbortError" ? "timeout" : "offline");
      } finally {
        clearTimeout(timer);
      }
      if (!response.ok) {
        const kind = response.status === 429 ? "rateLimited" : response.status === 403 ? "forbidden" : "serverError";
        const error = new ChatError(kind, response.status);
        // A 503 may still carry an escalation (the message could not be stored, or the
        // dialogue could not run): the patient must see it.
        try {
          const detail = await response.json();
          if (detail && Array.isArray(detail.messages)) error.messages = detail.messages;
        } catch {
          /* not JSON: nothing more to show */
        }
        throw error;
      }
      try {
        return await response.json();
      } catch {
        throw new ChatError("serverError", response.status);
      }
    }

    // ---- rendering ---------------------------------------------------------------

    renderUser(text) {
      const node = el("div", "cc-msg cc-user");
      node.append(el("span", "cc-sr", this.t.you + " "), el("p", "cc-user-text", text));
      return node;
    }

    render(group, live) {
      if (group.from === "user") return group.text ? this.renderUser(group.text) : null;
      const custom = group.custom || {};
      if (custom.kind === "escalation") return this.renderEscalation(group, live);
      if (custom.kind === "diary_summary" && Array.isArray(custom.rows)) return this.renderDiary(group);
      const sources = custom.kind === "answer" && Array.isArray(custom.sources) ? custom.sources : [];
      let text = group.text;
      if (sources.length) text = text.replace(/\n\s*\nFrom: [^\n]*\s*$/, ""); // shown as a source line
      if (!text.trim() && !group.buttons.length) return null;
      const node = el("div", "cc-msg cc-bot");
      if (custom.kind === "no_answer") node.classList.add("cc-no-answer");
      if (custom.kind === "check") node.classList.add("cc-check");
      node.append(el("span", "cc-sr", this.t.assistant + " "), formatText(text));
      if (sources.length) {
        const line = el("p", "cc-source");
        line.append(el("span", "cc-source-lead", this.t.from + " "));
        sources.forEach((source, index) => {
          if (index) line.append(document.createTextNode("; "));
          const parts = [source.title || source.page, source.section].filter(Boolean).map(String);
          line.append(document.createTextNode(parts.join(" › ")));
        });
        node.append(line);
      }
      const buttons = this.renderButtons(group.buttons, false);
      if (buttons) node.append(buttons);
      return node;
    }

    renderDiary(group) {
      // The summary as a table the patient can print or show; the server's text has the
      // same rows, one per line, after its first line.
      const custom = group.custom;
      const lines = String(group.text || "").split("\n");
      const node = el("div", "cc-msg cc-bot cc-diary");
      node.append(el("span", "cc-sr", this.t.assistant + " "), el("p", null, lines[0] || ""));
      // A focusable region, so a keyboard can scroll a wide table; on a phone the rows
      // are stacked instead (widget.css), each cell with its column's name.
      const scroll = el("div", "cc-table-scroll");
      scroll.tabIndex = 0;
      scroll.setAttribute("role", "region");
      scroll.setAttribute("aria-label", this.t.diaryTableLabel);
      const table = this.diaryTable(custom.rows, "cc-diary-table");
      scroll.append(table);
      node.append(scroll);
      const notes = lines.slice(1 + custom.rows.length).filter((line) => line.trim());
      for (const line of notes) node.append(el("p", null, line));
      const print = el("button", "cc-chip", this.t.diaryPrint);
      print.type = "button";
      print.addEventListener("click", () => this.printDiary(lines[0] || "", custom.rows, notes, custom.date));
      const buttons = this.renderButtons(group.buttons, false) || el("div", "cc-buttons");
      buttons.prepend(print);
      node.append(buttons);
      return node;
    }

    diaryTable(rows, className, doc = document) {
      const make = (tag, text) => {
        const node = doc.createElement(tag);
        if (text !== undefined) node.textContent = text;
        return node;
      };
      const table = make("table");
      table.className = className;
      const head = make("tr");
      for (const name of this.t.diaryColumns) head.append(make("th", name));
      const thead = make("thead");
      thead.append(head);
      const tbody = make("tbody");
      for (const row of rows) {
        const tr = make("tr");
        const relief = row.relief === null || row.relief === undefined ? "–" : `${row.relief}%`;
        const values = [row.time, row.after, `${row.score}/10`, relief, row.activity || ""];
        values.forEach((value, index) => {
          const td = make("td", String(value ?? ""));
          td.dataset.label = this.t.diaryColumns[index];
          tr.append(td);
        });
        tbody.append(tr);
      }
      table.append(thead, tbody);
      return table;
    }

    printDiary(first, rows, notes, date) {
      // The widget lives in a shadow root, so print CSS cannot hide the clinic's page:
      // the diary gets a page of its own, in a hidden frame, and only that is printed.
      document.querySelectorAll("iframe.cc-print-frame").forEach((old) => old.remove());
      const frame = document.createElement("iframe");
      frame.className = "cc-print-frame";
      frame.title = this.t.diaryTitle;
      frame.setAttribute("aria-hidden", "true");
      frame.tabIndex = -1;
      frame.style.cssText = "position:fixed;right:0;bottom:0;width:0;height:0;border:0;visibility:hidden";
      document.body.append(frame);
      const doc = frame.contentDocument;
      doc.open();
      doc.write("<!doctype html><html><head><meta charset='utf-8'></head><body></body></html>");
      doc.close();
      doc.documentElement.lang = this.o.lang;
      doc.title = `${this.t.diaryTitle} – ${this.o.clinicName}`;
      // A stylesheet file beside widget.css, not inline styles: a page's Content Security
      // Policy (like the mock clinic page's) refuses inline styles in the frame.
      const style = doc.createElement("link");
      style.rel = "stylesheet";
      style.href = new URL("diary-print.css", this.o.stylesheet).href;
      const heading = doc.createElement("h1");
      heading.textContent = `${this.t.diaryTitle} – ${this.o.clinicName}`;
      const intro = doc.createElement("p");
      intro.textContent = date ? `${date}: ${first}` : first;
      doc.body.append(heading, intro, this.diaryTable(rows, "cc-print-table", doc));
      for (const line of notes) {
        const para = doc.createElement("p");
        para.textContent = line;
        doc.body.append(para);
      }
      const print = () => {
        frame.contentWindow.focus();
        frame.contentWindow.print();
      };
      style.addEventListener("load", print, { once: true });
      style.addEventListener("error", print, { once: true }); // unstyled is better than nothing
      doc.head.append(style);
    }

    renderEscalation(group, live) {
      const custom = group.custom;
      const level = custom.level === "emergency" ? "emergency" : "urgent";
      const node = el("div", `cc-msg cc-alert cc-alert-${level}`);
      // A new escalation interrupts the screen reader; a restored one is part of the record.
      node.setAttribute("role", live ? "alert" : "group");
      const heading = el("p", "cc-alert-title");
      // The server's title says the same "now" or "today" as its text; ours is a fallback.
      const title = typeof custom.title === "string" && custom.title.trim()
        ? custom.title : level === "emergency" ? this.t.emergencyTitle : this.t.urgentTitle;
      heading.append(icon("warning"), el("span", null, title));
      if (!live) node.setAttribute("aria-label", heading.textContent);
      node.append(heading, formatText(group.text));
      const buttons = this.renderButtons(group.buttons, true);
      if (buttons) {
        // The first call button is the recommended action, shown biggest, unless the
        // server says the reply has no single one (primary_button: false).
        if (custom.primary_button === false) buttons.classList.add("cc-calls-equal");
        node.append(buttons);
      }
      return node;
    }

    renderButtons(buttons, big) {
      if (!buttons || !buttons.length) return null;
      const row = el("div", big ? "cc-calls" : "cc-buttons");
      for (const button of buttons) {
        if (!button || typeof button !== "object") continue;
        const title = String(button.title ?? button.payload ?? "");
        const payload = String(button.payload ?? "");
        if (!title || !payload) continue;
        if (payload.startsWith("tel:")) {
          if (!TEL.test(payload)) continue;
          const link = el("a", big ? "cc-call" : "cc-chip cc-chip-call");
          telLink(link, payload);
          link.append(icon("phone"), el("span", null, title));
          row.append(link);
        } else {
          const chip = el("button", "cc-chip", title);
          chip.type = "button";
          chip.addEventListener("click", () => this.send(payload, title));
          row.append(chip);
        }
      }
      return row.childElementCount ? row : null;
    }

    append(nodes) {
      if (!nodes.length) return;
      this.log.append(...nodes);
      // Show the start of the reply when it is longer than the view, else the end.
      const first = nodes.find((node) => !node.classList.contains("cc-user")) || nodes[nodes.length - 1];
      const top = first.offsetTop - 8;
      const fits = this.body.scrollHeight - top <= this.body.clientHeight;
      this.body.scrollTop = fits ? this.body.scrollHeight : top;
    }

    scrollToEnd() {
      this.body.scrollTop = this.body.scrollHeight;
    }

    clearErrors() {
      for (const node of this.body.querySelectorAll(".cc-error")) node.remove();
    }

    showError(error, retry, lead) {
      this.clearErrors();
      const kind = error instanceof ChatError ? error.kind : "serverError";
      const box = el("div", "cc-error");
      box.setAttribute("role", "alert");
      if (lead) box.append(el("p", "cc-error-lead", lead));
      box.append(el("p", "cc-error-text", this.t[kind] || this.t.serverError));
      const help = el("p", "cc-error-help");
      help.append(this.fillText(this.o.clinicPhone ? "errorHelp" : "errorHelpNoPhone"));
      box.append(help);
      const again = el("button", "cc-retry", this.t.retry);
      again.type = "button";
      again.addEventListener("click", () => {
        box.remove();
        this.input.focus();
        retry();
      });
      box.append(again);
      this.body.insertBefore(box, this.status);
      this.body.scrollTop = this.body.scrollHeight;
    }
  }

  function boot() {
    if (document.getElementById("clinic-chat")) return; // embedded twice
    const chat = new ClinicChat(readOptions());
    window.ClinicChat = {
      version: VERSION,
      open: () => chat.open(),
      close: () => chat.close(),
      reset: () => chat.reset(),
    };
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
