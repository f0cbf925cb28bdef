// SPDX-License-Identifier: BSD-2-Clause
/*
 * C++ stacks to unwind, built -O2 -fomit-frame-pointer: templates,
 * operator new, and an allocation in a catch handler after an exception
 * unwound through the frames below it.
 *   12351  main -> Chain<5>::run .. Chain<0>::run -> operator new -> malloc
 *   12352  main -> handler -> catcher (catch) -> operator new[] -> malloc
 */
#include <cstdio>
#include <stdexcept>
#include <vector>

#define NI __attribute__((noinline))
#define KEEP() __asm__ volatile("" ::: "memory")

static std::vector<void *> keep;

template <int N> struct Chain {
	NI static void run(size_t n)
	{
		Chain<N - 1>::run(n);
		KEEP();
	}
};

template <> struct Chain<0> {
	NI static void run(size_t n)
	{
		keep.push_back(::operator new(n));
		KEEP();
	}
};

NI static void thrower(int k)
{
	if (k > 0)
		throw std::runtime_error("unwound");
	KEEP();
}

NI static void catcher(size_t n)
{
	try {
		thrower((int)n);
	} catch (const std::exception &) {
		keep.push_back(new char[n]);
	}
	KEEP();
}

NI static void handler(size_t n)
{
	catcher(n);
	KEEP();
}

int main()
{
	keep.reserve(16);
	Chain<5>::run(12351);
	handler(12352);
	std::printf("done %zu\n", keep.size());
	return 0;
}
