// Formatting of the API's typed values (docs/KIOSKCTL.md, "Types"): instants come as RFC 3339
// with an offset and are shown in Asia/Shanghai whatever the browser's zone; basis points,
// per mille, hundredths and fen are integers on the wire and are rounded only here.
import { t } from './i18n.js';

const TZ = 'Asia/Shanghai';
const parts = new Intl.DateTimeFormat('en-CA', {
  timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit',
  hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
});

const DASH = '—';

export function time(iso) {
  if (!iso) return DASH;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = Object.fromEntries(parts.formatToParts(d).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

export function timeMs(ms) { return ms == null ? DASH : time(new Date(ms).toISOString()); }

const intFmt = new Intl.NumberFormat('en-US');
export function int(n) { return n == null ? DASH : intFmt.format(n); }

export function dec(n, digits = 1) { return n == null ? DASH : Number(n).toFixed(digits); }

// 9619 -> "96.19%"
export function bp(n) { return n == null ? DASH : `${(n / 100).toFixed(2)}%`; }

// A change in basis points, signed: +1.20 pt shown as "+1.20%"
export function bpChange(n) {
  if (n == null) return DASH;
  return `${n > 0 ? '+' : ''}${(n / 100).toFixed(2)}%`;
}

// Per mille change (ok_change_pm): -534 -> "-53.4%"; null with a non-zero count means "new".
export function pm(n) {
  if (n == null) return t('new_');
  return `${n > 0 ? '+' : ''}${(n / 10).toFixed(1)}%`;
}

// Hundredths (ok_per_terminal_day_x100, centi-points) -> "3.60"
export function x100(n) { return n == null ? DASH : (n / 100).toFixed(2); }

const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
// Integer fen -> "1,234.56" (exact: fen are integers, one division for display)
export function fen(n) { return n == null ? DASH : money.format(n / 100); }

// Seconds -> "1h05m", "12m05s", "-40m00s" as kioskctl's table view shows them.
export function dur(s) {
  if (s == null) return DASH;
  const neg = s < 0;
  let v = Math.abs(Math.trunc(s));
  const d = Math.floor(v / 86400); v %= 86400;
  const h = Math.floor(v / 3600); v %= 3600;
  const m = Math.floor(v / 60); const sec = v % 60;
  const p2 = (x) => String(x).padStart(2, '0');
  let out;
  if (d) out = `${d}d${p2(h)}h`;
  else if (h) out = `${h}h${p2(m)}m`;
  else out = `${m}m${p2(sec)}s`;
  return (neg ? '-' : '') + out;
}

export function bool(b) { return b == null ? DASH : (b ? t('yes') : t('no')); }

export function mb(n) { return n == null ? DASH : `${intFmt.format(n)} MB`; }

export { DASH };
