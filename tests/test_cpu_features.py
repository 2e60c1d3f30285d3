"""CPU features read from the kernel's flags."""

from nerkd.core.cpu_features import cpu_flags, has_amx, has_int8_dot_products


def test_amx_and_vnni_are_read_from_the_cpu_flags(tmp_path):
    xeon, epyc = tmp_path / "xeon", tmp_path / "epyc"
    xeon.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_vnni amx_bf16 amx_tile\n")
    epyc.write_text("processor\t: 0\nflags\t\t: fpu avx2 sse4_2\n")
    assert has_amx(str(xeon)) and has_int8_dot_products(str(xeon))
    assert not has_amx(str(epyc)) and not has_int8_dot_products(str(epyc))
    assert cpu_flags(str(tmp_path / "missing")) == frozenset()
