#!/usr/bin/env python3
"""Compare `memtrace layout --json` with pahole's text output for the same
file: for every struct/class/union pahole prints, its size and cache lines,
whether it is packed (inferred: DWARF does not record it),
each top-level member's offset (and bit offset), each byte hole and bit hole
(after which member) and the tail padding and bit padding must be equal.
  pahole_cmp.py PAHOLE.txt LAYOUT.json [--min N]
Exits 1 listing mismatches, or when fewer than N structs were compared."""
import json, re, sys

MEMBER = re.compile(r'/\*\s+(\d+)(?::\s*(\d+))?\s+(\d+)\s+\*/\s*$')
HOLE = re.compile(r'/\* XXX (\d+) bytes? hole')
BHOLE = re.compile(r'/\* XXX (\d+) bits? hole')
SIZE = re.compile(r'/\* size: (\d+), cachelines: (\d+), members: (\d+)')
PAD = re.compile(r'/\* padding: (\d+) \*/')
BPAD = re.compile(r'/\* bit_padding: (\d+) bits \*/')
HEAD = re.compile(r'^(struct|union|class) (\S+)(?: : .*)? \{$')

def member_name(decl, closing):
    decl = decl.split('/*')[0].strip().rstrip(';').strip()
    if closing:                      # "}" or "} name[N]:bits __attribute__(...)"
        decl = decl[1:].strip()
    if decl.endswith('<ancestor>'):  # C++ base: "class Base <ancestor>"
        return decl[:-len('<ancestor>')].strip().replace('  ', ' ')
    decl = re.sub(r'__attribute__\(\(.*\)\)$', '', decl).strip()
    if not decl:
        return ''
    m = re.search(r'\(\*+\s*([\w.]+)\)\s*\(', decl)   # function pointer
    if m:
        return m.group(1)
    decl = re.sub(r'(\[[^\]]*\])+$', '', decl)     # array dims
    decl = re.sub(r':\d+$', '', decl)              # bit-field width
    m = re.search(r'([\w.]+)$', decl)
    return m.group(1) if m else ''

def parse_pahole(text):
    structs, cur, depth = {}, None, 0
    for line in text.splitlines():
        if cur is None:
            m = HEAD.match(line)
            if m:
                cur = {'kind': m.group(1), 'name': m.group(2), 'members': [], 'holes': {},
                       'bit_holes': {}, 'padding': 0, 'bit_padding': 0, 'size': None}
                depth = 1
            continue
        stripped = line.strip()
        if depth == 1 and re.match(r'^\}', line):   # end of the struct
            cur['packed'] = '__packed__' in line
            if cur['name'] not in structs:
                structs[cur['name']] = cur
            cur = None
            continue
        tabs = len(line) - len(line.lstrip('\t'))
        opens = stripped.endswith('{')
        closing = stripped.startswith('}')
        if depth == 1 and tabs == 1 and not opens:
            mm = MEMBER.search(line)
            if mm and stripped.startswith('/*') and '<ancestor>' in stripped:
                stripped = stripped[2:].split('*/')[0].strip()   # a C++ base
            elif stripped.startswith('/*'):
                mm = None
            if mm:
                off = int(mm.group(1)); bit = mm.group(2)
                cur['members'].append({'name': member_name(stripped, False), 'offset': off,
                                       'bit': int(bit) if bit is not None else None,
                                       'size': int(mm.group(3))})
            for rx, key in ((HOLE, 'holes'), (BHOLE, 'bit_holes')):
                h = rx.search(line)
                if h and cur['members']:
                    cur[key][len(cur['members']) - 1] = int(h.group(1))
            s = SIZE.search(line)
            if s:
                cur['size'], cur['cachelines'] = int(s.group(1)), int(s.group(2))
            p = PAD.search(line)
            if p:
                cur['padding'] = int(p.group(1))
            p = BPAD.search(line)
            if p:
                cur['bit_padding'] = int(p.group(1))
        if opens:
            depth += 1
        if closing and depth > 1:
            depth -= 1
            if depth == 1:   # the closing line of a nested member
                mm = MEMBER.search(line)
                if mm:
                    cur['members'].append({'name': member_name(stripped, True),
                                           'offset': int(mm.group(1)), 'bit': None,
                                           'size': int(mm.group(3))})
    return structs

def main():
    pa = parse_pahole(open(sys.argv[1]).read())
    mine = {s['name']: s for s in json.load(open(sys.argv[2]))['structs']}
    need = int(sys.argv[sys.argv.index('--min') + 1]) if '--min' in sys.argv else 1
    bad, compared, missing = [], 0, []
    for name, p in pa.items():
        s = mine.get(name)
        if s is None:
            missing.append(name)
            continue
        compared += 1
        err = []
        if p['size'] is not None and p['size'] != s['size']:
            err.append('size %s != %s' % (s['size'], p['size']))
        if p['size'] is not None and p['cachelines'] != s['cachelines']:
            err.append('cachelines %s != %s' % (s['cachelines'], p['cachelines']))
        if s['kind'] != 'union' and s['packed'] != p['packed']:
            err.append('packed %s, pahole %s' % (s['packed'], p['packed']))
        ms = [m for m in s['members'] if m['role'] != 'virtual_base']
        if len(ms) != len(p['members']):
            err.append('%d members, pahole %d' % (len(ms), len(p['members'])))
        else:
            for i, (a, b) in enumerate(zip(ms, p['members'])):
                an = a['name'] or ''
                if an != b['name'] and not (a['role'] == 'base' and b['name'].endswith(an.split(' ')[-1])):
                    err.append('member %d: name %r, pahole %r' % (i, an, b['name']))
                if a['offset'] != b['offset']:
                    err.append('%s: offset %d, pahole %d' % (an, a['offset'], b['offset']))
                if b['bit'] is not None and a['bit_offset'] is not None and \
                        a['bit_offset'] - 8 * a['offset'] != b['bit']:
                    err.append('%s: bit %d, pahole %d' % (an, a['bit_offset'] - 8 * a['offset'], b['bit']))
                if a['size'] != b['size']:
                    err.append('%s: size %d, pahole %d' % (an, a['size'], b['size']))
            if s['kind'] != 'union':
                # holes name the member they follow; anonymous ones "(anonymous#i)"
                names = [m['name'] or '(anonymous#%d)' % i for i, m in enumerate(s['members'])
                         if m['role'] != 'virtual_base']
                mh = {names.index(h['after']): h['bytes'] for h in s['holes']}
                if mh != p['holes']:
                    err.append('holes %s, pahole %s' % (mh, p['holes']))
                mb = {names.index(h['after']): h['bits'] for h in s['bit_holes']}
                if mb != p['bit_holes']:
                    err.append('bit holes %s, pahole %s' % (mb, p['bit_holes']))
                if s['padding'] != p['padding']:
                    err.append('padding %d, pahole %d' % (s['padding'], p['padding']))
                if s['bit_padding'] != p['bit_padding']:
                    err.append('bit_padding %d, pahole %d' % (s['bit_padding'], p['bit_padding']))
        if err:
            bad.append('%s %s: %s' % (p['kind'], name, '; '.join(err)))
    for b in bad:
        print('mismatch:', b)
    if missing:
        print('not in memtrace layout (%d): %s' % (len(missing), ' '.join(missing[:20])))
    print('compared %d of pahole\'s %d types: %d mismatches' % (compared, len(pa), len(bad)))
    sys.exit(1 if bad or missing or compared < need else 0)

main()
