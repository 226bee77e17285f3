/* Switchboard chat: the embed snippet's loader. It loads widget.js after data-load-after
   seconds, on the first scroll, wheel, tap or key press (data-load-on-scroll), or at once,
   and passes it every data-* setting of this tag (data-inbox, data-api, data-lang, ...). */
(function (d, w) {
  "use strict";
  var me = d.currentScript;
  if (!me || w.__switchboardChatLoader) return;
  w.__switchboardChatLoader = true;
  var data = me.dataset, done = false, timer = 0;
  var events = ["scroll", "wheel", "pointerdown", "keydown"];
  function load() {
    if (done) return;
    done = true;
    clearTimeout(timer);
    events.forEach(function (name) { w.removeEventListener(name, load); });
    var s = d.createElement("script");
    s.src = new URL("widget.js?v=__WIDGET_VERSION__", me.src).href;
    s.async = true;
    for (var key in data) s.dataset[key] = data[key];
    if (!data.api) s.dataset.api = new URL(me.src).origin;
    (d.head || d.documentElement).appendChild(s);
  }
  var after = parseFloat(data.loadAfter);
  var onScroll = "loadOnScroll" in data;
  if (after > 0) timer = setTimeout(load, after * 1000);
  if (onScroll) {
    events.forEach(function (name) { w.addEventListener(name, load, { passive: true }); });
  }
  if (!(after > 0) && !onScroll) load();
})(document, window);
