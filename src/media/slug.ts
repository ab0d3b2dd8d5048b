const MAX_LENGTH = 60;

/** A file-name-safe stem from free text (usually the prompt): lowercase ASCII words joined by dashes. */
export function slug(text: string, maxLength = MAX_LENGTH): string {
  const words = text
    .normalize('NFKD')
    // Drop the accents NFKD split off, so "café" becomes "cafe" rather than "caf-".
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  let cut = words.slice(0, maxLength);
  // Prefer ending on a whole word when the cut fell inside one.
  if (words.length > maxLength && words[maxLength] !== '-' && cut.lastIndexOf('-') > 0) {
    cut = cut.slice(0, cut.lastIndexOf('-'));
  }
  cut = cut.replace(/-+$/, '');
  return cut === '' ? 'image' : cut;
}
