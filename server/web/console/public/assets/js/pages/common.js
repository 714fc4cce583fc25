// Things several pages need: the zone registry (for unit names and the map's grouping, which
// the fleet rows do not carry) and state badges.
import { getAll } from '../api.js';
import { t, tv } from '../i18n.js';
import { badge } from '../ui.js';

let zonesPromise = null;
// GET /api/v1/zones, every page, once per session (the registry changes rarely).
export function zones() {
  if (!zonesPromise) zonesPromise = getAll('/zones').catch((e) => { zonesPromise = null; throw e; });
  return zonesPromise;
}
export function forgetZones() { zonesPromise = null; }

// Units and banks present in the zone list, as [code, label] for filters.
export function unitsOf(zs) {
  const m = new Map();
  for (const z of zs) if (z.unit) m.set(z.unit, z.unit_name || z.unit);
  return [...m].sort((a, b) => a[0].localeCompare(b[0]));
}
export function banksOf(zs) {
  const m = new Map();
  for (const z of zs) if (z.bank) m.set(z.bank, z.bank_name || z.bank);
  return [...m].sort((a, b) => a[0].localeCompare(b[0]));
}
// A zone row's code, whichever name the server gives it (`zone` in kioskctl's tables, `id`
// in the deployment file).
export const zoneCode = (z) => z.zone ?? z.id;

export const stateBadge = (s) => badge(s || 'unknown', tv('st_', s || 'unknown'));
export const incBadge = (s) => badge(s || 'unknown', tv('istate_', s));
export const kindText = (k) => tv('kind_', k);
export const named = (code, name) => (name ? `${name}` : code ?? '—');
export const title = (s) => (t(s));
