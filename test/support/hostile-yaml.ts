/** The classic "billion laughs": nine levels of nine aliases, 9^9 strings once expanded, from a few hundred bytes. */
export function billionLaughs(indent = ''): string {
  const names = 'abcdefghi';
  let out = `${indent}a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n`;
  for (let i = 1; i < names.length; i++)
    out += `${indent}${names[i]}: &${names[i]} [${Array(9)
      .fill(`*${names[i - 1]}`)
      .join(',')}]\n`;
  return out;
}
