"""torch.distributions: parameterisable probability distributions and sampling functions, with
PyTorch's API (shapes, validation, log_prob/entropy/moments, reparameterised sampling,
transforms, constraints and KL divergences).

Not here (yet): Cauchy, Chi2, ContinuousBernoulli, FisherSnedecor, Geometric, Gumbel,
HalfCauchy, HalfNormal, Kumaraswamy, LKJCholesky, LogisticNormal, LowRankMultivariateNormal,
MixtureSameFamily, NegativeBinomial, Pareto, RelaxedBernoulli, RelaxedOneHotCategorical,
StudentT, VonMises, Weibull, Wishart."""
from framework.distributions import constraints, transforms
from framework.distributions.bernoulli import Bernoulli
from framework.distributions.categorical import Categorical, OneHotCategorical, OneHotCategoricalStraightThrough
from framework.distributions.constraint_registry import biject_to, transform_to
from framework.distributions.dirichlet import Beta, Dirichlet
from framework.distributions.distribution import Distribution
from framework.distributions.exp_family import ExponentialFamily
from framework.distributions.exponential import Exponential, Laplace
from framework.distributions.gamma import Gamma
from framework.distributions.independent import Independent
from framework.distributions.kl import kl_divergence, register_kl
from framework.distributions.multivariate_normal import MultivariateNormal
from framework.distributions.normal import Normal
from framework.distributions.poisson import Binomial, Multinomial, Poisson
from framework.distributions.transformed_distribution import LogNormal, TransformedDistribution
from framework.distributions.transforms import *  # noqa: F401,F403  (the transforms, as torch.distributions has them)
from framework.distributions.uniform import Uniform

__all__ = ["Bernoulli", "Beta", "Binomial", "Categorical", "Dirichlet", "Distribution", "Exponential",
           "ExponentialFamily", "Gamma", "Independent", "Laplace", "LogNormal", "Multinomial", "MultivariateNormal",
           "Normal", "OneHotCategorical", "OneHotCategoricalStraightThrough", "Poisson", "TransformedDistribution",
           "Uniform", "biject_to", "kl_divergence", "register_kl", "transform_to", "constraints", "transforms"]
__all__.extend(transforms.__all__)
