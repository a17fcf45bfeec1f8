// Pure: a color per user, stable across pages (a hash of the name), dark enough that white text
// on it keeps WCAG AA contrast (4.5:1) for every hue; the tests check every hue.
export function hue(user: string): number {
  let h = 2166136261;
  for (let i = 0; i < user.length; i++) h = Math.imul(h ^ user.charCodeAt(i), 16777619);
  return (h >>> 0) % 360;
}

/** HSL to sRGB, each 0..255. */
export function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

export function luminance([r, g, b]: [number, number, number]): number {
  const c = (v: number) => {
    const x = v / 255;
    return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * c(r) + 0.7152 * c(g) + 0.0722 * c(b);
}

export function contrast(a: [number, number, number], b: [number, number, number]): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

/** Saturation and lightness of users' bars: white text on them stays above 4.5:1 for every hue. */
export const BAR_S = 0.6;
export const BAR_L = 0.3;

export function userColor(user: string): string {
  return `hsl(${hue(user)} ${BAR_S * 100}% ${BAR_L * 100}%)`;
}
