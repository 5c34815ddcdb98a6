"""A tree's services as graphviz edges.

A node is a *service* when it has a ``providers`` child; a link of a
service (``name -> .../providers``, or to another service) is a
dependency, drawn as an edge from the service to the service it points
at::

    python -m zc.zk.graphvis tree.txt | dot -Tsvg > system.svg
"""
import posixpath
import sys

from zc.zk._tree import LINK, parse_tree


def services(tree):
    """``{path: node}`` of the services of a parsed tree."""
    found = {}

    def visit(path, node):
        if 'providers' in node.children:
            found[path] = node
        for name, child in node.children.items():
            visit(posixpath.join(path, name), child)

    for name, top in tree.children.items():
        visit('/' + name, top)
    return found


def edges(tree):
    """``(service, dependency, link name)`` for every service link."""
    found = services(tree)
    result = []
    for path, node in sorted(found.items()):
        for key, target in sorted(node.properties.items()):
            if not key.endswith(LINK):
                continue
            target = posixpath.normpath(posixpath.join(path, target))
            if posixpath.basename(target) == 'providers':
                target = posixpath.dirname(target)
            if target in found:
                result.append((path, target, key[:-len(LINK)]))
    return result


def dot(text):
    """The graphviz ``digraph`` of tree ``text``."""
    tree = parse_tree(text)
    lines = ['digraph services {']
    lines += [f'  "{path}";' for path in sorted(services(tree))]
    lines += [f'  "{a}" -> "{b}" [label="{label}"];'
              for a, b, label in edges(tree)]
    return '\n'.join(lines + ['}']) + '\n'


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    with (open(argv[0]) if argv and argv[0] != '-' else sys.stdin) as f:
        sys.stdout.write(dot(f.read()))


if __name__ == '__main__':
    main()
