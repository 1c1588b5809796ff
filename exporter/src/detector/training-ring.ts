// A detector's training data: the trailing rows of model columns, as a ring of bfloat16 (the upper half of a
// float32: float32's range, 8 bits of mantissa, 0.4 % steps). A forest only needs the rows' order along each
// column, and this ring is the largest part of an entity's state.
import { fromBfloat16, toBfloat16 } from './bfloat16.js';

// One scratch buffer for all detectors (they run on one thread): training rows widened to float64.
let scratch = new Float64Array(0);
function trainingScratch(size: number): Float64Array {
  if (scratch.length < size) scratch = new Float64Array(size);
  return scratch.subarray(0, size);
}

export class TrainingRing {
  /** capacity rows of `columns` values; row k (counting every row ever pushed) is in slot k % capacity. */
  readonly cells: Uint16Array;
  /** Rows pushed in total (less those taken back). */
  pushed = 0;
  /** Rows of the ring that are training data (the latest ones; at most capacity). */
  valid = 0;

  constructor(
    readonly capacity: number,
    readonly columns: number,
  ) {
    this.cells = new Uint16Array(capacity * columns);
  }

  push(row: Float64Array): void {
    const slot = this.pushed % this.capacity;
    const C = this.columns;
    for (let c = 0; c < C; c++) this.cells[slot * C + c] = toBfloat16(row[c] as number);
    this.pushed++;
    if (this.valid < this.capacity) this.valid++;
  }

  /** Takes back the latest `rows` rows (at most the valid ones): they are no longer training data. */
  takeBack(rows: number): void {
    const back = Math.min(rows, this.valid);
    this.pushed -= back;
    this.valid -= back;
  }

  /** The valid rows oldest first, widened to float64 (a shared scratch buffer: use it before the next call). */
  rows(): Float64Array {
    const C = this.columns;
    const rows = this.valid;
    const data = trainingScratch(rows * C);
    // Oldest first, so that a given history always gives the same forest.
    for (let k = 0, src = this.pushed - rows; k < rows; k++, src++) {
      const slot = src % this.capacity;
      for (let c = 0; c < C; c++) data[k * C + c] = fromBfloat16(this.cells[slot * C + c] as number);
    }
    return data;
  }
}
