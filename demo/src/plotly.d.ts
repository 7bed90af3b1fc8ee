/** The few Plotly calls the page makes (plotly.js-basic-dist-min ships no types). */
declare module "plotly.js-basic-dist-min" {
  interface PlotlyApi {
    react(root: HTMLElement, data: readonly object[], layout: object, config?: object): Promise<unknown>;
    purge(root: HTMLElement): void;
  }
  const Plotly: PlotlyApi;
  export default Plotly;
}
