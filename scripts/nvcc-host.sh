# Sourced by the scripts that run Debian 12's nvcc 11.8 (cuda-syntax-check.sh,
# kernel-instructions.sh): it takes clang 14 or g++ 11 as its host compiler,
# not Debian's g++ 12. Prints the first installed; fails when there is none.
nvcc_host_compiler() {
  local candidate
  for candidate in clang++-14 g++-11; do
    if command -v "$candidate" > /dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "no host compiler nvcc 11.8 takes (apt-get install clang-14)" >&2
  return 1
}
