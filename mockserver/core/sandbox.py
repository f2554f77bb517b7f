"""Jinja2's immutable sandbox, bounded: what one render may produce, and for how long.

The sandbox refuses unsafe attributes (``__class__``, ``__globals__``...) and changes to
values; Jinja2 has no timeout and no memory limit, so every hook it offers also spends from a
per-render ``Budget``:

- time: checked at each attribute or item lookup, call, filter, intercepted operator and
  loop iteration (every ``for`` iterable is wrapped at compile time), so a loop over a loop
  stops at the deadline;
- size: the result of each call, filter and ``*`` ``**`` ``%`` ``+`` is at most the output cap,
  their sum over a render at most ``WORK_FACTOR`` times it, and operations whose result grows
  with a number or a product (``'x' * n``, ``2 ** n``, ``center(n)``, ``replace``, ``join``,
  ``indent``, format widths) are refused before they run when it would be too large;
- the ``namespace`` and ``lipsum`` globals are left out (a namespace carries a value from one
  loop iteration to the next, so it could double each time; lipsum makes text from a count).

What is not bounded: one builtin operation with inputs inside these limits (sorting a list of
100,000 items) runs to its end before the next check.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any, Final

from jinja2 import nodes
from jinja2.runtime import Context
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment

from mockserver.core.errors import MockServerError

__all__ = ["OUTPUT_CAP", "Budget", "RenderRefused", "bounded_environment", "current", "guarded"]

OUTPUT_CAP: Final = 1024 * 1024  # characters (or JSON bytes) one template may produce
RENDER_SECONDS: Final = 1.0
WORK_FACTOR: Final = 16
MAX_COUNT: Final = MAX_RANGE  # a width, a count or an exponent: as large as range() allows
_MAX_INT_BITS: Final = 4096
_LONG_WIDTH: Final = re.compile(r"\d{6,}")
_DYNAMIC_WIDTH: Final = re.compile(r"\*|\{[^{}]*\{")
_SIZED: Final = (str, bytes, list, tuple, dict)


class RenderRefused(MockServerError):
    """A render went past one of its bounds."""


class Budget:
    """One render's deadline, the work it has left, and its random source (--seed's)."""

    __slots__ = ("deadline", "output_cap", "output_left", "rng", "work_left")

    def __init__(
        self,
        rng: random.Random,
        output_cap: int = OUTPUT_CAP,
        seconds: float = RENDER_SECONDS,
    ) -> None:
        self.deadline = time.monotonic() + seconds
        self.output_cap = output_cap
        self.output_left = output_cap  # for everything the response's templates write
        self.work_left = output_cap * WORK_FACTOR
        self.rng = rng

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderRefused("the template ran past its time limit")

    def emit(self, size: int) -> None:
        self.output_left -= size
        if self.output_left < 0:
            raise RenderRefused(f"the output is past the cap of {self.output_cap:,} characters")
        self.tick()

    def spend(self, value: Any) -> Any:
        self.tick()
        size = len(value) if isinstance(value, _SIZED) else 0
        if size > self.output_cap:
            raise RenderRefused(f"a value of {size:,} items is past the cap of {self.output_cap:,}")
        self.work_left -= size
        if self.work_left < 0:
            raise RenderRefused("the template built more than its work limit")
        return value


_BUDGET: ContextVar[Budget | None] = ContextVar("template_budget", default=None)


@contextmanager
def guarded(budget: Budget) -> Iterator[Budget]:
    """Renders inside this block spend from ``budget``."""
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def current() -> Budget:
    """The budget of the render under way (helpers draw from its random source)."""
    budget = _BUDGET.get()
    if budget is None:
        raise RenderRefused("a helper was called outside a render")
    return budget


def _spend(value: Any) -> Any:
    budget = _BUDGET.get()
    return value if budget is None else budget.spend(value)


def _tick() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.tick()


def _size(value: Any) -> int:
    return len(value) if isinstance(value, _SIZED) else 0


def _check_count(value: Any, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_COUNT:
        raise RenderRefused(f"{what} {value:,} is past the limit of {MAX_COUNT:,}")


def _check_format(fmt: str, args: Iterable[Any]) -> None:
    if _LONG_WIDTH.search(fmt):
        raise RenderRefused("a format width of six digits or more")
    if _DYNAMIC_WIDTH.search(fmt):
        for arg in args:
            _check_count(arg, "a format width")


def _check_result_size(estimate: int) -> None:
    if estimate > OUTPUT_CAP:
        raise RenderRefused(f"the result would have {estimate:,} characters, past {OUTPUT_CAP:,}")


def _check_replace(text: Any, old: Any, new: Any) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        times = len(text) + 1 if not old else text.count(old)
        _check_result_size(len(text) + times * len(new))


def _check_join(items: list[Any], sep: Any = "") -> None:
    total = sum(len(x) if isinstance(x, str) else 0 for x in items)
    _check_result_size(total + len(items) * (len(sep) if isinstance(sep, str) else 0))


def _check_operands(operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, _SIZED) and isinstance(n, int):
                _check_result_size(len(seq) * max(n, 0))
        ints = isinstance(left, int) and isinstance(right, int)
        if ints and left.bit_length() + right.bit_length() > _MAX_INT_BITS:
            raise RenderRefused(f"a product of more than {_MAX_INT_BITS} bits")
    elif operator == "**" and isinstance(left, int) and isinstance(right, int):
        if right > 0 and max(left.bit_length(), 1) * right > _MAX_INT_BITS:
            raise RenderRefused(f"a power of more than {_MAX_INT_BITS} bits")
    elif operator == "%" and isinstance(left, str):
        _check_format(left, right if isinstance(right, tuple) else (right,))
    elif operator == "+":
        _check_result_size(_size(left) + _size(right))


# Filters whose result grows with a parameter: checked before they run.
def _filter_precheck(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    value, params = (args[0] if args else None), args[1:]
    for param in (*params, *kwargs.values()):
        _check_count(param, f"a {name} argument of")
    if name == "replace" and len(params) >= 2:
        _check_replace(value, params[0], params[1])
    elif name == "join" and isinstance(value, list):
        _check_join(value, params[0] if params else kwargs.get("d", ""))
    elif name == "indent" and isinstance(value, str):
        width = params[0] if params else kwargs.get("width", 4)
        per_line = width if isinstance(width, int) else _size(width)
        _check_result_size(len(value) + (value.count("\n") + 1) * per_line)
    elif name == "format" and isinstance(value, str):
        _check_format(value, (*params, *kwargs.values()))


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    # Jinja2 marks filters that take the context or environment first (pass_context...): the
    # wrapper keeps the mark (wraps copies __dict__) and passes that argument through.
    passes = getattr(func, "jinja_pass_arg", None) is not None

    @wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        lead, rest = (args[:1], args[1:]) if passes else ((), args)
        if name == "join" and rest and not isinstance(rest[0], str | list):
            rest = (list(rest[0]), *rest[1:])  # measured before joining: a generator once
        _filter_precheck(name, rest, kwargs)
        return _spend(func(*lead, *rest, **kwargs))

    return bounded


class _Counted:
    """A loop's iterable, ticking the budget at every item."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[Any]) -> None:
        self._items = iter(items)

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        _tick()
        return next(self._items)


def _counted(items: Any) -> Any:
    return _Counted(items) if isinstance(items, Iterable) else items


_WIDTH_METHODS: Final = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the budget's hooks (see the module docstring)."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, helpers: Iterable[Any] = (), **options: Any) -> None:
        super().__init__(**options)
        self._helpers = frozenset(id(h) for h in helpers)
        for name in ("namespace", "lipsum"):
            self.globals.pop(name, None)
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
        self.filters["_counted"] = _counted

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _tick()
        _check_operands(operator, left, right)
        return _spend(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _tick()
        for arg in (*args, *kwargs.values()):
            # A macro that calls itself with its argument doubled doubles memory each time.
            if _size(arg) > OUTPUT_CAP:
                raise RenderRefused(f"an argument of {_size(arg):,} items, past {OUTPUT_CAP:,}")
        if id(__obj) not in __self._helpers:
            owner, name = getattr(__obj, "__self__", None), getattr(__obj, "__name__", "")
            if isinstance(owner, str):
                if name in _WIDTH_METHODS:
                    for arg in (*args, *kwargs.values()):
                        _check_count(arg, f"a {name} width of")
                elif name == "replace" and len(args) >= 2:
                    _check_replace(owner, args[0], args[1])
                elif name == "join" and args:
                    items = list(args[0])
                    _check_join(items, owner)
                    args = (items, *args[1:])
        return _spend(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt = value.__self__
        sandboxed: Callable[..., str] = wrapped

        @wraps(sandboxed)
        def checked(*args: Any, **kwargs: Any) -> str:
            values = (*args, *kwargs.values())
            if args and isinstance(args[0], Mapping):  # format_map
                values = (*values, *args[0].values())
            _check_format(fmt, values)
            return sandboxed(*args, **kwargs)

        return checked

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return super().getitem(obj, argument)

    def parse_bounded(self, source: str) -> nodes.Template:
        """The template's syntax tree with every loop's iterable counted.

        Raises:
            jinja2.TemplateSyntaxError: the source is no template, or it has a recursive loop
                (whose inner iterations would go uncounted).
        """
        tree = self.parse(source)
        for loop in tree.find_all(nodes.For):
            if loop.recursive:
                from jinja2 import TemplateSyntaxError

                raise TemplateSyntaxError(
                    "recursive loops are not allowed in templates", loop.lineno
                )
            loop.iter = nodes.Filter(loop.iter, "_counted", [], [], None, None, lineno=loop.lineno)
        return tree


def bounded_environment(helpers: dict[str, Callable[..., Any]]) -> BoundedSandbox:
    """The environment templates are compiled in, with ``helpers`` as globals."""
    # keep_trailing_newline: a body is sent as written, its last newline too.
    env = BoundedSandbox(helpers=helpers.values(), autoescape=False, keep_trailing_newline=True)
    env.globals.update(helpers)
    return env
