"""What the CPU can do, from the flags the kernel lists (Linux ``/proc/cpuinfo``): where an
instruction set changes what runs best (int8 dot products) or what runs at all (AMX tiles
in llama.cpp)."""

from __future__ import annotations

from functools import cache

CPUINFO = "/proc/cpuinfo"


@cache
def cpu_flags(cpuinfo: str = CPUINFO) -> frozenset[str]:
    """The first processor's flags; empty where they cannot be read (macOS, Windows)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def has_amx(cpuinfo: str = CPUINFO) -> bool:
    """Intel's AMX tiles (Sapphire Rapids and later Xeons)."""
    return "amx_tile" in cpu_flags(cpuinfo)


def has_int8_dot_products(cpuinfo: str = CPUINFO) -> bool:
    """VNNI (AVX-512 or AVX): int8 multiply-adds that sum into 32 bits without the 16-bit
    saturation of AVX2's, so int8 weights need not give up a bit of range."""
    return bool({"avx512_vnni", "avx_vnni"} & cpu_flags(cpuinfo))


def has_bfloat16(cpuinfo: str = CPUINFO) -> bool:
    """bfloat16 matmuls in hardware (AMX or AVX-512 BF16), where bfloat16 autocast pays."""
    return bool({"amx_bf16", "avx512_bf16"} & cpu_flags(cpuinfo))
