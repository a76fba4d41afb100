/**
 * The operator type of this package.
 *
 * @module
 */

/**
 * RxJS's types are documented by the rxjs package: `@ignore` tells
 * `deno doc --lint` not to ask this package to export them.
 * @ignore
 */
import type { Observable } from "rxjs";

/**
 * An RxJS operator: a function from one Observable to another, usable in
 * `pipe()`. The same shape as RxJS's `OperatorFunction<T, R>`.
 */
export type Operator<T, R> = (source: Observable<T>) => Observable<R>;
