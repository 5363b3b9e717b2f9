/** What the pre-flight found: an error stops the command (exit 2), a warning is printed. */
import type { ScenarioPath } from '../../scenarios/load.ts';

export interface Finding {
  readonly level: 'error' | 'warning';
  /** Where in the file (positioned by the loader's source map when the scenario came from a file). */
  readonly path: ScenarioPath;
  /** One line, no file prefix. */
  readonly message: string;
}
