# Writes python_repr.txt: CPython's repr of floats that Rust's shortest formatting writes
# differently when left alone (exact halfway cases) and of random ones.
# Run: python3 python_repr.py > python_repr.txt
import json, random, struct

random.seed(11)
def line(x):
    return f'{struct.unpack("<Q", struct.pack("<d", x))[0]} {json.dumps(x)}'

print("# repr of a float in CPython 3, one per line: the float's bits as a u64, a space, json.dumps(x).")
print("# Made by tests/golden/python_repr.py; 1,000 exact halfway cases, 300 random bit patterns, 300 random reals.")
out = []
for _ in range(3000):
    e = random.randint(-8, 8); m = random.randint(2**51, 2**53 - 1)
    out.append(line(m * 2.0 ** (-e) * random.choice([1, -1])))
rand_bits = []
for _ in range(3000):
    x = struct.unpack("<d", struct.pack("<Q", random.getrandbits(64)))[0]
    rand_bits.append(line(x))
reals = [line(random.uniform(-1e6, 1e6)) for _ in range(2000)]
sel = [l for l in out + rand_bits + reals if "nan" not in l.lower()]
print("\n".join(sel[:1000] + sel[3000:3300] + sel[6000:6300]))
