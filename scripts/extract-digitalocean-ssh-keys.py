#!/usr/bin/env python3
"""Writes specs/digitalocean-v2.ssh-keys.extract.yaml: DigitalOcean's SSH key operations from its own
OpenAPI description, every $ref inlined, x-codeSamples and response links dropped."""
import os
import sys

import yaml

# Usage: git clone https://github.com/digitalocean/openapi && git -C openapi checkout 7c1300c479fed9c353cda9fc21cd968619552304
#        python3 scripts/extract-digitalocean-ssh-keys.py openapi > specs/digitalocean-v2.ssh-keys.extract.yaml
root = os.path.join(sys.argv[1] if len(sys.argv) > 1 else 'openapi', 'specification')
def load(path):
    with open(path) as f: return yaml.safe_load(f)
def resolve(node, base):
    if isinstance(node, dict):
        if '$ref' in node and len(node) == 1:
            ref = node['$ref']
            file, _, frag = ref.partition('#')
            path = os.path.normpath(os.path.join(base, file)) if file else None
            doc = load(path)
            if frag:
                for part in frag.strip('/').split('/'):
                    doc = doc[part]
            return resolve(doc, os.path.dirname(path))
        out = {}
        for k, v in node.items():
            if k in ('x-codeSamples', 'links') : continue
            out[k] = resolve(v, base)
        return out
    if isinstance(node, list):
        return [resolve(v, base) for v in node]
    return node
main = load(os.path.join(root, 'DigitalOcean-public.v2.yaml'))
paths = {}
for p in ['/v2/account/keys', '/v2/account/keys/{ssh_key_identifier}']:
    paths[p] = resolve(main['paths'][p], root)
doc = {
  'openapi': main['openapi'],
  'info': {'title': main['info']['title'], 'version': main['info']['version'], 'license': main['info']['license']},
  'servers': [{'url': 'https://api.digitalocean.com', 'description': 'production'}],
  'security': [{'bearer_auth': []}],
  'paths': paths,
  'components': {'securitySchemes': resolve(main['components']['securitySchemes'], root)},
}
head = """# Extract of the DigitalOcean public API v2 OpenAPI spec (vendor-official): SSH keys.
# Source: github.com/digitalocean/openapi, specification/DigitalOcean-public.v2.yaml and the files
# it references under specification/resources/ssh_keys and specification/shared,
# commit 7c1300c479fed9c353cda9fc21cd968619552304 (2026-08-07), the same commit as
# digitalocean-v2.subset.yaml. Every $ref inlined (PyYAML, scripts/extract-digitalocean-ssh-keys.py),
# x-codeSamples and response links dropped; nothing else changed. Data extract only.
"""
sys.stdout.write(head + yaml.safe_dump(doc, sort_keys=False, width=100))
