"""`print_summary`: the table `model.summary()` prints, drawn as Keras 3 draws it with rich.

The table is rendered here without rich: fixed column widths shrunk evenly to fit the line, cells
word-wrapped (a word longer than its column ends in `…`), the header bottom-aligned, body rows
top-aligned, and every line cropped to the console width. Styling (bold, 8-bit or 16-colour ANSI
codes) appears only when writing to a terminal, as rich decides it; names are measured one cell per
character.
"""
import builtins
import math
import os
import re
import shutil
import sys

import numpy as np

from minikeras.layers.keras_tensor import is_shape_list
from minikeras.utils.progbar import print_msg

# Roles of text in the summary; a palette maps each to the SGR parameters rich emits for it.
BOLD, SYMBOL, NUMBER, NONE_DIM, BOLD_YES, BOLD_NO = "bold", "symbol", "number", "none", "yes", "no"
EIGHT_BIT_PALETTE = {
    BOLD: "1",
    SYMBOL: "38;5;33",
    NUMBER: "38;5;34",
    NONE_DIM: "38;5;45",
    BOLD_YES: "1;38;5;34",
    BOLD_NO: "1;91",
}
STANDARD_PALETTE = {BOLD: "1", SYMBOL: "94", NUMBER: "32", NONE_DIM: "96", BOLD_YES: "1;32", BOLD_NO: "1;91"}
NO_COLOR_PALETTE = {BOLD: "1", BOLD_YES: "1", BOLD_NO: "1"}
PLAIN_PALETTE = {}
DUMB_TERMINALS = ("dumb", "unknown")

SEQUENTIAL_LINE_LENGTH = 88
SEQUENTIAL_POSITIONS = [0.45, 0.80, 1.0]
FUNCTIONAL_LINE_LENGTH = 108
FUNCTIONAL_POSITIONS = [0.3, 0.56, 0.74, 1.0]
TRAINABLE_COLUMN_WIDTH = 12
CELL_PADDING = 1
MEMORY_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")
WORD = re.compile(r"\s*\S+\s*")


class StyledText:
    """A string with one role (or None) per character, so wrapping and cropping keep the styling."""

    def __init__(self, plain="", roles=None):
        self.plain = plain
        self.roles = list(roles) if roles is not None else [None] * len(plain)

    @classmethod
    def join(cls, *pieces):
        """Concatenate (text, role) pairs."""
        return cls("".join(text for text, _ in pieces), [role for text, role in pieces for _ in text])

    def __len__(self):
        return len(self.plain)

    def __getitem__(self, index):
        return StyledText(self.plain[index], self.roles[index])

    def __add__(self, other):
        return StyledText(self.plain + other.plain, self.roles + other.roles)

    def with_base_role(self, role):
        """Give unstyled characters `role` (a header cell is bold throughout)."""
        return StyledText(self.plain, [own or role for own in self.roles])

    def padded(self, left, right, role=None):
        return StyledText(" " * left, [role] * left) + self + StyledText(" " * right, [role] * right)

    def rstripped(self):
        return self[: len(self.plain.rstrip())]

    def truncated(self, width):
        """At most `width` characters, the last one replaced by `…` when the text is cut."""
        if len(self) <= width:
            return self
        return StyledText(self.plain[: width - 1] + "…", self.roles[: width - 1] + [self.roles[width - 1]])

    def segments(self):
        """Runs of equal role, as (text, role)."""
        runs = []
        for char, role in zip(self.plain, self.roles):
            if runs and runs[-1][1] == role:
                runs[-1][0] += char
            else:
                runs.append([char, role])
        return [tuple(run) for run in runs]


def wrap_line_breaks(text, width):
    """Offsets where rich breaks `text` into lines of `width`: between words, never inside one."""
    breaks = []
    offset = 0
    for match in WORD.finditer(text):
        start, word = match.start(), match.group(0)
        if width - offset >= len(word.rstrip()):
            offset += len(word)
        elif len(word.rstrip()) > width or (offset and start):
            # An over-long word starts its own line and is cut with an ellipsis later.
            if start:
                breaks.append(start)
            offset = len(word)
    return breaks


def wrap(text, width, justify):
    """Word-wrap a StyledText into lines of exactly `width` characters, justified left/right/center."""
    lines = []
    for paragraph in split_lines(text):
        breaks = [0] + wrap_line_breaks(paragraph.plain, width) + [len(paragraph)]
        for start, end in zip(breaks, breaks[1:]):
            line = paragraph[start:end]
            excess = len(line) - width
            if excess > 0:
                trailing_spaces = len(line.plain) - len(line.plain.rstrip())
                line = line[: len(line) - min(trailing_spaces, excess)]
            if justify != "left":
                line = line.rstripped()
            line = line.truncated(width)
            gap = width - len(line)
            if justify == "left":
                line = line.padded(0, gap)
            elif justify == "right":
                line = line.padded(gap, 0)
            else:
                line = line.padded(gap // 2, gap - gap // 2)
            lines.append(line)
    return lines


def split_lines(text):
    pieces, start = [], 0
    for index, char in enumerate(text.plain):
        if char == "\n":
            pieces.append(text[start:index])
            start = index + 1
    pieces.append(text[start:])
    return pieces


def column_widths(line_length, positions):
    """Keras's split of the line at `positions`, padded, then rich's even shrink to fit the borders."""
    widths, used = [], 0
    for position in positions:
        width = int(position * line_length) - used
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(width + 2 * CELL_PADDING)
        used += width
    return shrink_evenly(widths, line_length - (len(widths) + 1))


def shrink_evenly(widths, available):
    """Take the excess off the columns in equal shares, rounding each share half to even, left first."""
    excess = sum(widths) - available
    if excess <= 0:
        return widths
    shrunk, columns_left = [], len(widths)
    for width in widths:
        share = min(width, round(excess / columns_left))
        shrunk.append(width - share)
        excess -= share
        columns_left -= 1
    return shrunk


def render_row(cells, widths, justifies, vertical_border, header):
    """The text lines of one table row: cells wrapped, padded, aligned and joined by borders."""
    base_role = BOLD if header else None
    wrapped = [wrap(cell, width - 2 * CELL_PADDING, justify) for cell, width, justify in zip(cells, widths, justifies)]
    height = max(len(lines) for lines in wrapped)
    rows = []
    for line_index in range(height):
        segments = [(vertical_border, None)]
        for lines, width in zip(wrapped, widths):
            # The header sits on the bottom line of its row, body cells on the top line.
            index = line_index - (height - len(lines)) if header else line_index
            if 0 <= index < len(lines):
                line = lines[index].with_base_role(base_role)
                segments.append((" " * CELL_PADDING, base_role))
                segments.extend(line.segments())
                segments.append((" " * CELL_PADDING, base_role))
            else:
                segments.append((" " * width, base_role))
            segments.append((vertical_border, None))
        rows.append(segments)
    return rows


def border(widths, left, fill, cross, right):
    return [(left + cross.join(fill * width for width in widths) + right, None)]


def draw_table(header, rows, widths, justifies):
    """All lines of the table, each a list of (text, role) segments, in rich's HEAVY_HEAD box."""
    lines = [border(widths, "┏", "━", "┳", "┓")]
    lines += render_row(header, widths, justifies, "┃", header=True)
    lines.append(border(widths, "┡", "━", "╇", "┩"))
    for index, row in enumerate(rows):
        if index:
            lines.append(border(widths, "├", "─", "┼", "┤"))
        lines += render_row(row, widths, justifies, "│", header=False)
    lines.append(border(widths, "└", "─", "┴", "┘"))
    return lines


def crop(segments, width):
    """Cut a line to the console width, as rich does before printing."""
    cropped, room = [], width
    for text, role in segments:
        if room <= 0:
            break
        cropped.append((text[:room], role))
        room -= len(text)
    return cropped


def to_ansi(segments, palette):
    return "".join(
        f"\x1b[{palette[role]}m{text}\x1b[0m" if palette.get(role) else text for text, role in segments if text
    )


def console_width(terminal):
    """Rich's console width: COLUMNS when LINES is set too (rich then fixes its size), else 80 on a dumb
    terminal, else COLUMNS, else the first terminal among stdin/stdout/stderr, else 80."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and os.environ.get("LINES", "").isdigit():
        return int(columns)
    if terminal and os.environ.get("TERM", "").lower() in DUMB_TERMINALS:
        return 80
    if columns.isdigit():
        return int(columns)
    for descriptor in (0, 1, 2):
        try:
            return os.get_terminal_size(descriptor).columns or 80
        except (AttributeError, ValueError, OSError):
            continue
    return 80


def _inside_jupyter():
    """Rich's Jupyter test: an IPython kernel shell is running (not merely ipykernel imported)."""
    get_ipython = getattr(builtins, "get_ipython", None)
    return get_ipython is not None and type(get_ipython()).__name__ == "ZMQInteractiveShell"


def stdout_is_terminal():
    """Rich's terminal test: TTY_COMPATIBLE, then FORCE_COLOR, then isatty; never inside Jupyter."""
    if _inside_jupyter():
        return False
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    if "FORCE_COLOR" in os.environ:
        return os.environ["FORCE_COLOR"] != ""
    return bool(getattr(sys.stdout, "isatty", lambda: False)())


def terminal_palette(terminal):
    """The styling rich gives stdout: none off a terminal, else by NO_COLOR, COLORTERM and TERM."""
    term = os.environ.get("TERM", "").strip().lower()
    if not terminal or term in DUMB_TERMINALS:
        return PLAIN_PALETTE
    if os.environ.get("NO_COLOR", "") != "":
        return NO_COLOR_PALETTE
    if os.environ.get("COLORTERM", "").strip().lower() in ("truecolor", "24bit"):
        return EIGHT_BIT_PALETTE
    colors = term.rpartition("-")[2]
    return EIGHT_BIT_PALETTE if colors in ("256color", "kitty") else STANDARD_PALETTE


def count_params(weights):
    return int(sum(math.prod(weight.shape) for weight in weights))


def memory_size(weights):
    """Bytes held by the distinct weights."""
    distinct = {id(weight): weight for weight in weights}.values()
    return sum(math.prod(weight.shape) * np.dtype(weight.dtype).itemsize for weight in distinct)


def readable_memory_size(size):
    """'3.50 KB': 1024-based units with two decimals.

    Past the last unit Keras has divided once more, so 2048 PB prints as '2.00 PB'.
    """
    for unit in MEMORY_UNITS:
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} {MEMORY_UNITS[-1]}"


def format_output_shape(layer):
    if not getattr(layer, "built", False):
        return StyledText("?")
    shape = layer.output_shape
    if is_shape_list(shape):
        pieces = [("[", None)]
        for index, item in enumerate(shape):
            pieces += ([(", ", None)] if index else []) + list(_shape_pieces(item))
        return StyledText.join(*pieces, ("]", None))
    return StyledText.join(*_shape_pieces(shape))


def _shape_pieces(shape):
    pieces = [("(", None)]
    for index, dim in enumerate(shape):
        pieces += [(", ", None)] if index else []
        pieces.append((str(dim), NONE_DIM if dim is None else NUMBER))
    return pieces + [(")", None)]


def format_connections(model, layer):
    """Keras's "Connected to" cell: `name[node][tensor]` per consumed tensor, comma separated, or `-`."""
    pieces = []
    for text in model.connections(layer):
        name, node_index, tensor_index = text[:-1].replace("][", "[").split("[")
        pieces += [(", ", None)] if pieces else []
        pieces += [(f"{name}[", None), (node_index, NUMBER), ("][", None), (tensor_index, NUMBER), ("]", None)]
    return StyledText.join(*pieces) if pieces else StyledText("-")


def format_param_count(layer):
    if not hasattr(layer, "built"):
        return StyledText("0", [NUMBER])
    if not layer.built:
        return StyledText.join(("0", NUMBER), (" (unbuilt)", None))
    return StyledText.join((f"{layer.count_params():,}", NUMBER))


def format_trainable(layer):
    if not getattr(layer, "weights", None):
        return StyledText("-", [BOLD])
    return StyledText("Y", [BOLD_YES]) if layer.trainable else StyledText("N", [BOLD_NO])


def layer_rows(layer, expand_nested, show_trainable, graph=None, nested_level=0):
    """One row per layer; nested models' layers follow their parent, indented with `└`. With `graph` (a
    functional model that is not a plain chain) the row has a "Connected to" cell."""
    prefix = "   " * nested_level + "└ " if nested_level else ""
    name = StyledText.join((f"{prefix}{layer.name} (", None), (type(layer).__name__, SYMBOL), (")", None))
    row = [name, format_output_shape(layer), format_param_count(layer)]
    if graph is not None:
        row.append(format_connections(graph, layer))
    if show_trainable:
        row.append(format_trainable(layer))
    rows = [row]
    if expand_nested and getattr(layer, "layers", None):
        for inner in layer.layers:
            rows += layer_rows(inner, expand_nested, show_trainable, graph, nested_level + 1)
    return rows


def layer_index_bounds(layers, layer_range):
    """[first, last + 1] of the layers whose names match the two patterns of `layer_range`."""
    if layer_range is None:
        return [0, len(layers)]
    if len(layer_range) != 2:
        raise ValueError(
            "layer_range must be a list or tuple of length 2. Received: "
            f"layer_range = {layer_range} of length {len(layer_range)}"
        )
    if not isinstance(layer_range[0], str) or not isinstance(layer_range[1], str):
        raise ValueError(f"layer_range should contain string type only. Received: {layer_range}")
    lower = [index for index, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    upper = [index for index, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not lower or not upper:
        raise ValueError(f"Passed layer_names do not match the layer names in the model. Received: {layer_range}")
    if min(lower) > max(upper):
        return [min(upper), max(lower) + 1]
    return [min(lower), max(upper) + 1]


def optimizer_variables(model):
    """The optimizer's variables once it has been built (compiled and trained), else []."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(optimizer, "built", True):
        return []
    return list(optimizer.variables)


def totals_lines(model):
    trainable = list(model.trainable_weights)
    non_trainable = list(model.non_trainable_weights)
    optimizer = optimizer_variables(model)
    groups = [("Trainable", trainable), ("Non-trainable", non_trainable)]
    if optimizer:
        groups.append(("Optimizer", optimizer))
    total_count = sum(count_params(weights) for _, weights in groups)
    total_size = sum(memory_size(weights) for _, weights in groups)
    entries = [("Total", total_count, total_size)]
    entries += [(label, count_params(weights), memory_size(weights)) for label, weights in groups]
    return [
        [(f" {label} params: ", BOLD), (f"{count:,}", NUMBER), (f" ({readable_memory_size(size)})", None)]
        for label, count, size in entries
    ]


def print_summary(
    model,
    line_length=None,
    positions=None,
    print_fn=None,
    expand_nested=False,
    show_trainable=False,
    layer_range=None,
):
    """Print the layer table of a model and its parameter totals.

    `print_fn`, when given, receives the whole summary as one plain string (ending in a newline);
    otherwise the summary goes to stdout, styled when stdout is a terminal.
    """
    graph = model if hasattr(model, "is_sequential_like") and not model.is_sequential_like() else None
    if graph is None:
        line_length_default = SEQUENTIAL_LINE_LENGTH
        positions = positions or list(SEQUENTIAL_POSITIONS)
        header = ["Layer (type)", "Output Shape", "Param #"]
        justifies = ["left", "left", "right"]
    else:
        line_length_default = FUNCTIONAL_LINE_LENGTH
        positions = positions or list(FUNCTIONAL_POSITIONS)
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        justifies = ["left", "left", "right", "left"]
    if show_trainable:
        line_length_default += TRAINABLE_COLUMN_WIDTH
        positions = [position * 0.90 for position in positions] + [1.0]
        header.append("Trainable")
        justifies.append("center")
    line_length = line_length or min(line_length_default, shutil.get_terminal_size().columns - 4)
    widths = column_widths(line_length, positions)

    layers = model.layers
    first, stop = layer_index_bounds(layers, layer_range)
    rows = [row for layer in layers[first:stop] for row in layer_rows(layer, expand_nested, show_trainable, graph)]

    lines = [[(f'Model: "{model.name}"', BOLD)]]
    lines += draw_table([StyledText(text) for text in header], rows, widths, justifies)
    lines += totals_lines(model)

    # A print_fn receives what rich captures off-terminal: plain text.
    terminal = print_fn is None and stdout_is_terminal()
    palette = terminal_palette(terminal)
    width = console_width(terminal)
    text = "".join(to_ansi(crop(line, width), palette) + "\n" for line in lines)
    if print_fn:
        print_fn(text)
    else:
        print_msg(text, line_break=False)
