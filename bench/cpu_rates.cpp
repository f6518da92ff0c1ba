// What one core of this CPU can do per second with each instruction the encoder's kernels are built on: many
// independent accumulator chains of one AVX-512 instruction (more than latency × issue width, so the loop measures
// throughput), best of several tries.  The ratios to vfmadd231ps say which reduced precision can beat fp32 here:
// a bf16 dot product or an int8 VNNI dot product does 2× or 4× an FMA's work per lane, and wins only where it
// issues fast enough for that to count.
//   ksearch_cpu_rates [--tries N]
// Prints one JSON line per instruction the CPU has.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

constexpr int kChains = 24;  // zmm8..zmm31; zmm1 holds both inputs
constexpr long kIterations = 1L << 17;

// The loop is written in assembly: with intrinsics GCC 12 kept some accumulators of the int8 loop in memory and copied
// the others between registers, which measured the copies.
#define KSEARCH_CHAINS(INSTRUCTION)                                                            \
  "vpbroadcastd %[value], %%zmm1\n"                                                            \
  ".irp r,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"             \
  "vpxord %%zmm\\r, %%zmm\\r, %%zmm\\r\n"                                                      \
  ".endr\n"                                                                                    \
  "1:\n"                                                                                       \
  ".irp r,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n" INSTRUCTION \
  " %%zmm1, %%zmm1, %%zmm\\r\n"                                                                \
  ".endr\n"                                                                                    \
  "dec %[count]\n"                                                                             \
  "jnz 1b\n"
#define KSEARCH_CLOBBERS                                                                                            \
  "zmm1", "zmm8", "zmm9", "zmm10", "zmm11", "zmm12", "zmm13", "zmm14", "zmm15", "zmm16", "zmm17", "zmm18", "zmm19", \
      "zmm20", "zmm21", "zmm22", "zmm23", "zmm24", "zmm25", "zmm26", "zmm27", "zmm28", "zmm29", "zmm30", "zmm31", "cc"

// Seconds for kIterations × kChains of one instruction; `value` is both inputs in every 32-bit lane (ones, so the
// sums stay finite and normal).
#define KSEARCH_RATE_LOOP(NAME, INSTRUCTION)                                                                 \
  __attribute__((target("avx512f"))) double NAME(std::uint32_t value) {                                      \
    long count = kIterations;                                                                                \
    const auto start = std::chrono::steady_clock::now();                                                     \
    asm volatile(KSEARCH_CHAINS(INSTRUCTION) : [count] "+r"(count) : [value] "r"(value) : KSEARCH_CLOBBERS); \
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();                  \
  }

KSEARCH_RATE_LOOP(fma_ps, "vfmadd231ps")
KSEARCH_RATE_LOOP(dpbf16_ps, "vdpbf16ps")
KSEARCH_RATE_LOOP(dpbusd, "vpdpbusd")
KSEARCH_RATE_LOOP(fma_ph, "vfmadd231ph")

struct Instruction {
  const char* name;
  const char* precision;
  int ops;  // multiply and add counted apart, per instruction on 512 bits
  bool supported;
  std::uint32_t ones;
  double (*loop)(std::uint32_t);
};

}  // namespace

int main(int argc, char** argv) {
  int tries = 5;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--tries") == 0 && i + 1 < argc) {
      tries = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: ksearch_cpu_rates [--tries N]\n");
      return 2;
    }
  }
  if (tries < 1) {
    std::fprintf(stderr, "ksearch_cpu_rates: --tries must be at least 1\n");
    return 2;
  }
  if (!__builtin_cpu_supports("avx512f")) {
    std::fprintf(stderr, "ksearch_cpu_rates: this CPU has no AVX-512; the encoder runs on its AVX2 paths\n");
    return 1;
  }
  const Instruction instructions[] = {
      {"vfmadd231ps", "fp32", 32, true, 0x3f800000, fma_ps},
      {"vdpbf16ps", "bf16", 64, __builtin_cpu_supports("avx512bf16") != 0, 0x3f803f80, dpbf16_ps},
      {"vpdpbusd", "int8", 128, __builtin_cpu_supports("avx512vnni") != 0, 0x01010101, dpbusd},
      {"vfmadd231ph", "fp16", 64, __builtin_cpu_supports("avx512fp16") != 0, 0x3c003c00, fma_ph},
  };
  double best[std::size(instructions)];
  std::fill(std::begin(best), std::end(best), 1e9);
  // Tries alternate between the instructions, so a clock ramp or a preemption does not land on one of them.
  for (int t = 0; t < tries; ++t)
    for (std::size_t i = 0; i < std::size(instructions); ++i)
      if (instructions[i].supported) best[i] = std::min(best[i], instructions[i].loop(instructions[i].ones));
  const double fma_rate = 32.0 * kChains * kIterations / best[0];
  for (std::size_t i = 0; i < std::size(instructions); ++i) {
    const Instruction& instruction = instructions[i];
    if (!instruction.supported) {
      std::printf("{\"instruction\": \"%s\", \"precision\": \"%s\", \"supported\": false}\n", instruction.name,
                  instruction.precision);
      continue;
    }
    const double rate = double(instruction.ops) * kChains * kIterations / best[i];
    std::printf(
        "{\"instruction\": \"%s\", \"precision\": \"%s\", \"supported\": true, \"giga_ops_per_s_per_core\": %.1f, "
        "\"instructions_per_ns\": %.3f, \"work_vs_fp32_fma\": %.2f}\n",
        instruction.name, instruction.precision, rate * 1e-9, double(kChains) * kIterations / best[i] * 1e-9,
        rate / fma_rate);
  }
}
