/** The part of jstat (no published types) that src/stats.ts uses. */
declare module "jstat" {
  export const jStat: {
    studentt: {
      /** Quantile (inverse CDF) of Student's t with `dof` degrees of freedom. */
      inv(p: number, dof: number): number;
    };
  };
}
