"""A small layered ("Sugiyama-style") layout, so that pictures need no Graphviz.

Note [Layered layout]
    Data-flow pictures read top to bottom: every arrow should point down.  The classic recipe
    (Sugiyama, Tagawa and Toda, 1981) gets there in four steps, each a few lines below:

    1. **Break cycles** (:func:`_acyclic`): a depth-first walk reverses the few edges that
       point back to a node still on the walk's stack.  IR and autograd graphs have none.
    2. **Layering** (:func:`_layers`): the *longest-path* rule puts a node one row below its
       lowest predecessor.  Nodes with no predecessors (constants) are then pulled down to
       just above their first user, and ``rank="sink"`` nodes (``return``) go to the last row.
       Then every row number is doubled, as Graphviz does: odd rows between node rows carry
       the edge labels.  An edge gets a chain of invisible *dummy* nodes, one per row it
       crosses, so that every edge joins adjacent rows; the first dummy of a labelled edge is
       as wide as its label, so labels never overlap nodes or each other.
    3. **Ordering** (:func:`_order`): sweeping down and up, each row is sorted by the
       *barycentre* (mean position) of its neighbours in the row before; the ordering with the
       fewest edge crossings wins.
    4. **Coordinates** (:func:`_coordinates`): rows are stacked; inside a row each node wants
       to sit at the mean x of its neighbours, and :func:`_pack` finds the closest positions
       that keep the order and a minimum gap (an isotonic regression, "pool adjacent
       violators").  Dummies make long edges come out straight.

    Clusters are laid out from the inside out: a cluster's contents are laid out first, then
    the whole cluster is one (big) node in the layout of the level that holds it.  An edge is
    cut into pieces, one per level it passes: at the innermost level that holds both ends it
    joins the two items (nodes or clusters) that contain them; inside a cluster it runs to
    or from a *proxy*, an invisible point above the cluster's first row ("in") or below its
    last ("out"), so that edges enter and leave boxes through their top and bottom sides
    instead of cutting across them.  All loops run over lists in creation order, so the same
    graph always gets the same picture.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .dot import DotGraph, DotNode

__all__ = ["Box", "Layout", "layout", "node_size", "text_width", "FONT_SIZE", "LINE_HEIGHT"]

FONT_SIZE = 12          # px, monospace
CHAR_WIDTH = 7.2        # px: a monospace glyph is about 0.6 em wide
LINE_HEIGHT = 15.0      # px
PAD_X, PAD_Y = 10.0, 6.0
NODE_SEP = 22.0         # horizontal gap between neighbours in a row
DUMMY_SEP = 10.0        # gap next to a dummy (an edge passing through the row)
RANK_SEP = 12.0         # vertical gap between rows (node rows and edge-label rows alternate)
LABEL_INDENT = 6.0      # from an edge to its label
CLUSTER_PAD = 10.0
CLUSTER_LABEL = 20.0    # height of a cluster's title strip
MARGIN = 12.0
DUMMY_WIDTH = 4.0

Point = Tuple[float, float]


class Box:
    """An axis-aligned rectangle: top-left ``(x, y)``, width ``w``, height ``h`` (pixels)."""

    __slots__ = ("x", "y", "w", "h")

    def __init__(self, x: float, y: float, w: float, h: float):
        self.x, self.y, self.w, self.h = x, y, w, h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def __repr__(self) -> str:
        return f"Box({self.x:.1f}, {self.y:.1f}, {self.w:.1f}, {self.h:.1f})"


class Layout:
    """Where everything goes: node and cluster boxes, and one polyline per visible edge."""

    def __init__(self) -> None:
        self.width = 0.0
        self.height = 0.0
        self.nodes: Dict[str, Box] = {}
        self.clusters: Dict[str, Box] = {}
        self.edges: List[Tuple[int, List[Point]]] = []   # (index in graph.edges, points)
        self.labels: List[Tuple[int, float, float]] = []  # (edge index, x, baseline y)


def text_width(text: str) -> float:
    """The width in pixels of one line of monospace text."""
    return len(text) * CHAR_WIDTH


def node_size(node: DotNode) -> Tuple[float, float]:
    """(width, height) of a node: its text plus padding; ellipses get room for their curve."""
    lines = node.lines()
    w = max(text_width(line) for line in lines) + 2 * PAD_X
    h = len(lines) * LINE_HEIGHT + 2 * PAD_Y
    if node.shape == "ellipse":
        w, h = w * 1.2 + 8, h * 1.15
    return w, h


# ---- one level: items (nodes or whole clusters) with sizes, edges between them ---------------
class _Level:
    """The result of laying out one level, relative to its own top-left corner."""

    def __init__(self) -> None:
        self.pos: Dict[str, Tuple[float, float]] = {}       # item -> top-left
        self.paths: Dict[Any, List[Point]] = {}             # segment key -> bends, tail to head
        self.labels: Dict[Any, Point] = {}                  # segment key -> label position
        self.width = 0.0
        self.height = 0.0


def _acyclic(items: Sequence[str], edges: List[Tuple[str, str, Any]]) -> List[Tuple[str, str, Any]]:
    """Step 1: reverse every edge that closes a cycle (found by an iterative DFS)."""
    succ: Dict[str, List[Tuple[str, int]]] = {v: [] for v in items}
    for k, (a, b, _) in enumerate(edges):
        succ[a].append((b, k))
    state: Dict[str, int] = {v: 0 for v in items}        # 0 new, 1 on stack, 2 done
    backward = set()
    for root in items:
        if state[root]:
            continue
        stack = [(root, 0)]
        state[root] = 1
        while stack:
            v, i = stack[-1]
            if i < len(succ[v]):
                stack[-1] = (v, i + 1)
                w, k = succ[v][i]
                if state[w] == 1:
                    backward.add(k)
                elif state[w] == 0:
                    state[w] = 1
                    stack.append((w, 0))
            else:
                state[v] = 2
                stack.pop()
    return [(b, a, e) if k in backward else (a, b, e) for k, (a, b, e) in enumerate(edges)]


def _layers(items: Sequence[str], edges: List[Tuple[str, str, Any]],
            ranks: Dict[str, str]) -> Dict[str, int]:
    """Step 2: longest-path layering, then sources pulled down and sinks pushed to the end."""
    preds: Dict[str, List[str]] = {v: [] for v in items}
    succs: Dict[str, List[str]] = {v: [] for v in items}
    indegree = {v: 0 for v in items}
    for a, b, _ in edges:
        if a == b:
            continue
        preds[b].append(a)
        succs[a].append(b)
        indegree[b] += 1
    layer: Dict[str, int] = {}
    ready = [v for v in items if indegree[v] == 0]
    topo: List[str] = []
    while ready:                                          # Kahn's algorithm, in item order
        v = ready.pop(0)
        topo.append(v)
        layer[v] = max((layer[u] + 1 for u in preds[v]), default=0)
        for w in succs[v]:
            indegree[w] -= 1
            if indegree[w] == 0:
                ready.append(w)
    for v in reversed(topo):                              # constants: just above their user
        if not preds[v] and succs[v] and ranks.get(v) != "source":
            layer[v] = min(layer[w] for w in succs[v]) - 1
    last = max(layer.values(), default=0)
    for v in items:
        if ranks.get(v) == "sink" and not succs[v]:
            layer[v] = last
    return layer


def _count_crossings(top: Dict[str, int], bottom: Dict[str, int],
                     edges: List[Tuple[str, str]]) -> int:
    """Crossings between two adjacent rows = inversions of the bottom ends (merge sort)."""
    seq = [bottom[b] for _, b in sorted(edges, key=lambda e: (top[e[0]], bottom[e[1]]))]

    def sort_count(xs: List[int]) -> Tuple[List[int], int]:
        if len(xs) < 2:
            return xs, 0
        mid = len(xs) // 2
        left, a = sort_count(xs[:mid])
        right, b = sort_count(xs[mid:])
        merged, count, i, j = [], a + b, 0, 0
        while i < len(left) and j < len(right):
            if right[j] < left[i]:
                merged.append(right[j])
                count += len(left) - i
                j += 1
            else:
                merged.append(left[i])
                i += 1
        merged += left[i:] + right[j:]
        return merged, count

    return sort_count(seq)[1]


def _order(rows: List[List[str]], down: Dict[str, List[str]], up: Dict[str, List[str]],
           sweeps: int = 12) -> List[List[str]]:
    """Step 3: barycentric ordering, keeping the arrangement with the fewest crossings."""
    def crossings(order: List[List[str]]) -> int:
        total = 0
        for r in range(len(order) - 1):
            top = {v: i for i, v in enumerate(order[r])}
            bottom = {v: i for i, v in enumerate(order[r + 1])}
            total += _count_crossings(top, bottom, [(v, w) for v in order[r] for w in down[v]])
        return total

    best = [list(r) for r in rows]
    best_count = crossings(best)
    order = [list(r) for r in rows]
    for sweep in range(sweeps):
        if best_count == 0:
            break
        going_down = sweep % 2 == 0
        span = range(1, len(order)) if going_down else range(len(order) - 2, -1, -1)
        for r in span:
            ref = order[r - 1] if going_down else order[r + 1]
            where = {v: i for i, v in enumerate(ref)}
            neighbours = up if going_down else down
            keys = []
            for i, v in enumerate(order[r]):
                near = [where[w] for w in neighbours[v] if w in where]
                keys.append((sum(near) / len(near) if near else float(i), i, v))
            order[r] = [v for _, _, v in sorted(keys)]
        count = crossings(order)
        if count < best_count:
            best, best_count = [list(r) for r in order], count
    return best


def _pack(desired: List[float], widths: List[float], gaps: List[float]) -> List[float]:
    """Centres closest (least squares) to ``desired`` with ``x[i+1] - x[i] >= need[i]``.

    ``need[i] = (widths[i] + widths[i+1]) / 2 + gaps[i]``.  Subtracting the running sum of
    the needs turns the constraints into "non-decreasing", solved by pool-adjacent-violators.

    Example:
        >>> _pack([0.0, 0.0], [10.0, 10.0], [4.0])
        [-7.0, 7.0]
    """
    offsets = [0.0]
    for i in range(1, len(desired)):
        offsets.append(offsets[-1] + (widths[i - 1] + widths[i]) / 2 + gaps[i - 1])
    blocks: List[List[float]] = []                         # [sum, count]
    for d, c in zip(desired, offsets):
        blocks.append([d - c, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, n = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += n
    out: List[float] = []
    for s, n in blocks:
        out.extend([s / n] * int(n))
    return [y + c for y, c in zip(out, offsets)]


def _coordinates(rows: List[List[str]], sizes: Dict[str, Tuple[float, float]],
                 down: Dict[str, List[str]], up: Dict[str, List[str]], thin: set,
                 anchor: Dict[str, float]) -> Dict[str, float]:
    """Step 4: the x of every item's centre.

    An item's *anchor* is where its edges attach: the centre for nodes, but the left end for
    an edge-label dummy (the edge runs down its left side, the text sits to the right).
    """
    x: Dict[str, float] = {}
    for row in rows:                                         # start packed from the left
        pos = 0.0
        for v in row:
            w = sizes[v][0]
            x[v] = pos + w / 2
            pos += w + NODE_SEP

    def gaps(row: List[str]) -> List[float]:
        return [DUMMY_SEP if (a in thin or b in thin) else NODE_SEP for a, b in zip(row, row[1:])]

    for sweep in range(9):
        mode = sweep % 3                                    # 0: follow preds, 1: succs, 2: both
        span = range(len(rows)) if mode != 1 else range(len(rows) - 1, -1, -1)
        for r in span:
            row = rows[r]
            desired = []
            for v in row:
                near = up[v] if mode == 0 else down[v] if mode == 1 else up[v] + down[v]
                if near:
                    mean = sum(x[w] + anchor.get(w, 0.0) for w in near) / len(near)
                    desired.append(mean - anchor.get(v, 0.0))
                else:
                    desired.append(x[v])
            for v, cx in zip(row, _pack(desired, [sizes[v][0] for v in row], gaps(row))):
                x[v] = cx
    return x


def _layout_level(items: List[str], sizes: Dict[str, Tuple[float, float]],
                  segments: List[Tuple[str, str, Any]], ranks: Dict[str, str],
                  labels: Dict[Any, str]) -> _Level:
    """Lay out one level (Note [Layered layout]).

    Args:
        items: nodes, clusters and proxies of this level, in creation order.
        sizes: (width, height) of every item.
        segments: (tail item, head item, key) per edge piece laid out at this level.
        ranks: ``source``/``sink`` for pinned nodes, ``in``/``out`` for proxies (the points
            where an edge crosses this cluster's border: above the first row, below the last).
        labels: text of the edge label carried by a segment, by key.
    """
    level = _Level()
    if not items:
        return level
    dag = _acyclic(items, segments)
    flipped = {key for (a, _, key), (a2, _, _) in zip(segments, dag) if a != a2}
    real = [v for v in items if ranks.get(v) not in ("in", "out")]
    layer = _layers(items, [(a, b, k) for a, b, k in dag
                            if ranks.get(a) not in ("in", "out")
                            and ranks.get(b) not in ("in", "out")], ranks)
    last = max(layer[v] for v in real) if real else 0
    shift = 1 if any(ranks.get(v) == "in" for v in items) else 0
    for v in items:
        rank = ranks.get(v)
        layer[v] = 2 * (-1 if rank == "in" else last + 1 if rank == "out" else layer[v]) + 2 * shift
    n_rows = max(layer.values()) + 1
    rows: List[List[str]] = [[] for _ in range(n_rows)]
    for v in items:
        rows[layer[v]].append(v)

    # every segment joins adjacent rows through dummies; odd rows hold only dummies
    down: Dict[str, List[str]] = {v: [] for v in items}
    up: Dict[str, List[str]] = {v: [] for v in items}
    all_sizes = dict(sizes)
    thin = {v for v in items if ranks.get(v) in ("in", "out")}
    anchor: Dict[str, float] = {}
    chains: Dict[Any, List[str]] = {}
    label_of: Dict[str, str] = {}
    for a, b, key in dag:
        if a == b:
            continue
        chain = [a]
        for r in range(layer[a] + 1, layer[b]):
            d = f"dummy{len(all_sizes)}"
            all_sizes[d] = (DUMMY_WIDTH, 0.0)
            down[d], up[d] = [], []
            rows[r].append(d)
            thin.add(d)
            chain.append(d)
        chain.append(b)
        for s, t in zip(chain, chain[1:]):
            down[s].append(t)
            up[t].append(s)
        inner = chain[1:-1]
        if key in flipped:
            inner = inner[::-1]
        if key in labels and inner:
            d = inner[0]                          # the label sits just below the tail
            w = text_width(labels[key]) + LABEL_INDENT + 4
            all_sizes[d] = (w, LINE_HEIGHT)
            anchor[d] = -w / 2 + 2
            thin.discard(d)
            label_of[d] = labels[key]
        chains[key] = inner

    rows = _order(rows, down, up)
    x = _coordinates(rows, all_sizes, down, up, thin, anchor)
    heights = [max((all_sizes[v][1] for v in row), default=0.0) for row in rows]
    tops, y = [], 0.0
    for h in heights:
        tops.append(y)
        y += h + RANK_SEP
    row_of = {v: r for r, row in enumerate(rows) for v in row}
    left = min(x[v] - all_sizes[v][0] / 2 for row in rows for v in row)
    right = max(x[v] + all_sizes[v][0] / 2 for row in rows for v in row)
    for v in items:
        if ranks.get(v) in ("in", "out"):
            continue
        w, h = all_sizes[v]
        r = row_of[v]
        level.pos[v] = (x[v] - w / 2 - left, tops[r] + (heights[r] - h) / 2)

    def point(v: str, where: str) -> Point:
        r = row_of[v]
        py = tops[r] if where == "top" else tops[r] + heights[r]
        return (x[v] + anchor.get(v, 0.0) - left, py)

    for a, b, key in segments:
        path: List[Point] = []
        if ranks.get(a) in ("in", "out"):
            path.append(point(a, "top"))
        for d in chains.get(key, []):
            top, bottom = point(d, "top"), point(d, "bottom")
            path.extend([top] if top == bottom else [top, bottom])
            if d in label_of:
                level.labels[key] = (top[0] + LABEL_INDENT, top[1] + LINE_HEIGHT * 0.75)
        if ranks.get(b) in ("in", "out"):
            path.append(point(b, "top"))
        level.paths[key] = path
    level.width = right - left
    level.height = tops[-1] + heights[-1]
    return level


# ---- the whole graph ---------------------------------------------------------------------------
def layout(graph: DotGraph) -> Layout:
    """Place every node, cluster, edge and edge label of ``graph`` (Note [Layered layout]).

    Example:
        >>> from minijit.viz.dot import DotGraph
        >>> g = DotGraph()
        >>> a, b = g.add_node("a"), g.add_node("b")
        >>> g.add_edge(a, b)
        >>> lay = layout(g)
        >>> lay.nodes[a].y < lay.nodes[b].y      # the arrow points down
        True
    """
    result = Layout()
    order = {nid: i for i, nid in enumerate(graph.nodes)}

    def container(item: str) -> Optional[str]:
        return graph.nodes[item].cluster if item in graph.nodes else graph.clusters[item].parent

    def chain(item: str) -> List[str]:
        """``item`` and the clusters around it, innermost first."""
        out = [item]
        c = container(item)
        while c is not None:
            out.append(c)
            c = graph.clusters[c].parent
        return out

    chains = {nid: chain(nid) for nid in graph.nodes}
    first: Dict[str, int] = {}                     # a cluster sorts by its first node
    for nid in graph.nodes:
        for c in chains[nid][1:]:
            first.setdefault(c, order[nid])

    def item_in(level: Optional[str], nid: str) -> str:
        for item in chains[nid]:
            if container(item) == level:
                return item
        raise KeyError(nid)

    # Split every edge into pieces, one per level it passes through (Note [Layered layout]):
    # out of the tail's clusters through "out" proxies, across the innermost common level,
    # and into the head's clusters through "in" proxies.
    pieces: Dict[Optional[str], List[Tuple[str, str, Any]]] = {}
    proxies: Dict[Optional[str], List[str]] = {}
    route: Dict[int, List[Tuple[Optional[str], Any]]] = {}
    labels: Dict[Optional[str], Dict[Any, str]] = {}
    labelled = set()
    for k, e in enumerate(graph.edges):
        if e.tail == e.head:
            continue
        up_levels = chains[e.tail][1:] + [None]
        down_levels = chains[e.head][1:] + [None]
        lca = next(c for c in up_levels if c in down_levels)
        steps: List[Tuple[Optional[str], Any]] = []
        if e.visible:
            for lv in up_levels[:up_levels.index(lca)]:
                proxy = f"out:{k}"
                proxies.setdefault(lv, []).append(proxy)
                pieces.setdefault(lv, []).append((item_in(lv, e.tail), proxy, (k, lv)))
                steps.append((lv, (k, lv)))
        pieces.setdefault(lca, []).append((item_in(lca, e.tail), item_in(lca, e.head), (k, lca)))
        steps.append((lca, (k, lca)))
        if e.visible:
            for lv in reversed(down_levels[:down_levels.index(lca)]):
                proxy = f"in:{k}"
                proxies.setdefault(lv, []).append(proxy)
                pieces.setdefault(lv, []).append((proxy, item_in(lv, e.head), (k, lv, "in")))
                steps.append((lv, (k, lv, "in")))
        route[k] = steps
        if e.visible and e.label and (e.tail, e.label) not in labelled:   # once per value
            labelled.add((e.tail, e.label))
            lv, key = steps[0]
            labels.setdefault(lv, {})[key] = e.label

    depth = {c: len(chain(c)) for c in graph.clusters}
    levels: List[Optional[str]] = sorted(graph.clusters, key=lambda c: (-depth[c], first.get(c, 0)))
    levels.append(None)                            # inside-out: the top level last
    sizes: Dict[str, Tuple[float, float]] = {n.id: node_size(n) for n in graph.nodes.values()}
    ranks: Dict[str, str] = {n.id: n.rank for n in graph.nodes.values() if n.rank}
    results: Dict[Optional[str], _Level] = {}
    for lv in levels:
        nodes, clusters = graph.children(lv)
        items = sorted(nodes + clusters,
                       key=lambda i: order[i] if i in order else first.get(i, len(order)))
        for p in proxies.get(lv, []):
            items.append(p)
            sizes[p] = (DUMMY_WIDTH, 0.0)
            ranks[p] = "in" if p.startswith("in:") else "out"
        level = _layout_level(items, sizes, pieces.get(lv, []), ranks, labels.get(lv, {}))
        results[lv] = level
        if lv is not None:
            label_w = text_width(graph.clusters[lv].label) + 2 * CLUSTER_PAD
            sizes[lv] = (max(level.width + 2 * CLUSTER_PAD, label_w),
                         level.height + CLUSTER_LABEL + CLUSTER_PAD)

    origin: Dict[Optional[str], Point] = {}

    def place(lv: Optional[str], ox: float, oy: float) -> None:
        origin[lv] = (ox, oy)
        for item, (x, y) in results[lv].pos.items():
            w, h = sizes[item]
            if item in graph.nodes:
                result.nodes[item] = Box(ox + x, oy + y, w, h)
            else:
                result.clusters[item] = Box(ox + x, oy + y, w, h)
                place(item, ox + x + (w - results[item].width) / 2, oy + y + CLUSTER_LABEL)

    place(None, MARGIN, MARGIN)
    result.width = results[None].width + 2 * MARGIN
    result.height = results[None].height + 2 * MARGIN
    for k, e in enumerate(graph.edges):
        if not e.visible or k not in route:
            continue
        middle: List[Point] = []
        for lv, key in route[k]:
            ox, oy = origin[lv]
            middle.extend((ox + px, oy + py) for px, py in results[lv].paths.get(key, []))
            if key in results[lv].labels:
                lx, ly = results[lv].labels[key]
                result.labels.append((k, ox + lx, oy + ly))
        tail, head = result.nodes[e.tail], result.nodes[e.head]
        first_target = middle[0] if middle else (head.cx, head.cy)
        last_source = middle[-1] if middle else (tail.cx, tail.cy)
        points = [_port(tail, graph.nodes[e.tail].shape, first_target), *middle,
                  _port(head, graph.nodes[e.head].shape, last_source)]
        result.edges.append((k, points))
    return result


def _port(box: Box, shape: str, toward: Point) -> Point:
    """Where the line from the box's centre toward ``toward`` leaves the box's outline."""
    dx, dy = toward[0] - box.cx, toward[1] - box.cy
    if dx == 0 and dy == 0:
        return box.cx, box.cy
    a, b = box.w / 2, box.h / 2
    if shape == "ellipse":
        t = 1 / math.sqrt((dx / a) ** 2 + (dy / b) ** 2)
    else:
        t = min(a / abs(dx) if dx else math.inf, b / abs(dy) if dy else math.inf)
    t = min(t, 1.0)
    return box.cx + t * dx, box.cy + t * dy
